"""Character-level tokenizer for OCR text of Japanese firm names.

Byte-level BPE splits each kanji into bytes and learns almost nothing on CPU budgets (MEASURED.md), so the text
tower reads characters. Ids: 0 = pad, 1 = unknown, 2 .. V-2 = characters, V-1 = end of text. The end token has
the highest id so that open_clip's TextTransformer (pool_type "argmax") pools at it.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import torch

PAD_ID = 0
UNK_ID = 1
_SPACES = re.compile(r"\s+")


def normalize_text(text, normalize: str | None = "NFKC") -> str:
    """NFKC (㈱ -> (株), full-width -> half-width), lowercase, collapse whitespace. None/NaN -> ''."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    text = str(text)
    if normalize:
        text = unicodedata.normalize(normalize, text)
    return _SPACES.sub(" ", text.lower()).strip()


class CharTokenizer:
    def __init__(self, chars: Sequence[str], normalize: str | None = "NFKC"):
        self.chars = list(chars)
        self.normalize = normalize
        self.char_to_id = {c: i + 2 for i, c in enumerate(self.chars)}
        if len(self.char_to_id) != len(self.chars):
            raise ValueError("duplicate characters in vocabulary")

    @classmethod
    def build(cls, texts: Iterable, min_count: int = 1, normalize: str | None = "NFKC") -> "CharTokenizer":
        counts = Counter()
        for t in texts:
            counts.update(normalize_text(t, normalize))
        # sorted by character so the same texts always give the same ids
        return cls(sorted(c for c, n in counts.items() if n >= min_count), normalize)

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 3

    @property
    def eot_id(self) -> int:
        return self.vocab_size - 1

    def encode(self, text) -> list[int]:
        return [self.char_to_id.get(c, UNK_ID) for c in normalize_text(text, self.normalize)]

    def decode(self, ids: Iterable[int]) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == self.eot_id:
                break
            if i >= 2:
                out.append(self.chars[i - 2])
            elif i == UNK_ID:
                out.append("\ufffd")
        return "".join(out)

    def __call__(self, texts, context_length: int = 32) -> torch.Tensor:
        if isinstance(texts, str):
            texts = [texts]
        out = torch.full((len(texts), context_length), PAD_ID, dtype=torch.long)
        for row, t in enumerate(texts):
            ids = self.encode(t)[: context_length - 1] + [self.eot_id]  # truncate, keep room for eot
            out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def to_dict(self) -> dict:
        return {"type": "char", "normalize": self.normalize, "chars": self.chars}

    @classmethod
    def from_dict(cls, d: dict) -> "CharTokenizer":
        return cls(d["chars"], d.get("normalize", "NFKC"))

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path) -> "CharTokenizer":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size}, normalize={self.normalize!r})"
