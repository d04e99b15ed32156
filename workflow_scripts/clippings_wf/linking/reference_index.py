"""A reference set embedded once and saved, so that later linking runs skip embedding the references.

File format (one ``.npz`` file, written by ``np.savez`` and read with ``allow_pickle=False``, so loading never runs
code):
    format         int64 scalar, INDEX_FORMAT (a file of another version is refused naming both);
    meta           JSON string: {"model_sha256", "architecture", "dim", "w", "kind", "n_references"};
    index          uint8 bytes of ``faiss.serialize_index`` (a CPU index);
    reference_ids  str array, one per reference, in index order;
    entity_ids     str array ("" where a reference has none), present only where the manifest had ``entity_id``.

The embeddings depend on the model's weights, on its embedding dimension and on the pooling weight w, so an
index is tied to all three: ``load`` refuses an index made by another model.pt (sha256), of another dimension or
with another w, and names both sides.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from clippings_wf.linking import faiss_index
from clippings_wf.runtime.atomic import atomic_path

INDEX_FORMAT = 1


class IndexMismatchError(ValueError):
    """A saved index that does not belong to the model it is used with, or of an unknown format."""


@dataclass(frozen=True)
class ModelIdentity:
    """What makes two models' embeddings comparable: the same weights file, dimension and pooling weight."""

    model_sha256: str
    architecture: str
    dim: int
    w: float

    def describe(self) -> str:
        return f"model {self.model_sha256[:12]} ({self.architecture}, dim {self.dim}, w {self.w:g})"


class ReferenceIndex:
    """FAISS inner-product index over a reference set's pooled embeddings, with its ids and the model's identity."""

    def __init__(self, index, reference_ids, identity: ModelIdentity, entity_ids=None, kind: str = "flat"):
        if index.d != identity.dim:
            raise IndexMismatchError(f"index dimension {index.d} != model dimension {identity.dim}")
        if index.ntotal != len(reference_ids):
            raise ValueError(f"index holds {index.ntotal} vectors but {len(reference_ids)} reference ids were given")
        self.index = index
        self.reference_ids = np.asarray(reference_ids, dtype=str)
        self.entity_ids = None if entity_ids is None else np.asarray(entity_ids, dtype=str)
        self.identity = identity
        self.kind = kind

    @classmethod
    def build(cls, embeddings: np.ndarray, reference_ids, identity: ModelIdentity, entity_ids=None,
              kind: str = "flat") -> ReferenceIndex:  # fmt: skip
        if len(reference_ids) == 0:
            raise ValueError("the reference set is empty: nothing to link to")
        return cls(faiss_index.build_index(embeddings, kind=kind), reference_ids, identity, entity_ids, kind)

    def __len__(self) -> int:
        return len(self.reference_ids)

    def search(self, query_emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores [Q, k], reference positions [Q, k]), best first; k is capped at the number of references."""
        return faiss_index.search(self.index, query_emb, min(int(k), len(self)))

    def check_model(self, identity: ModelIdentity, where="the index") -> None:
        """Refuse a model whose embeddings are not comparable with this index's, naming both."""
        if identity.dim != self.identity.dim:
            raise IndexMismatchError(f"{where} has embedding dimension {self.identity.dim} "
                                     f"({self.identity.describe()}), but the model gives dimension {identity.dim} "
                                     f"({identity.describe()})")  # fmt: skip
        if identity.model_sha256 != self.identity.model_sha256:
            raise IndexMismatchError(f"{where} was made by {self.identity.describe()}, not by the model given, "
                                     f"{identity.describe()}: rebuild it from the reference manifest")  # fmt: skip
        if abs(identity.w - self.identity.w) > 1e-9:
            raise IndexMismatchError(f"{where} was made with w {self.identity.w:g}, the model is used with w "
                                     f"{identity.w:g} ({identity.describe()})")  # fmt: skip

    def save(self, path) -> None:
        """One .npz file at exactly ``path`` (written atomically; np.savez adds no suffix to a file object)."""
        cpu = faiss.index_gpu_to_cpu(self.index) if "Gpu" in type(self.index).__name__ else self.index
        meta = {**asdict(self.identity), "kind": self.kind, "n_references": len(self)}
        arrays = {"format": np.int64(INDEX_FORMAT), "meta": np.array(json.dumps(meta)),
                  "index": faiss.serialize_index(cpu), "reference_ids": self.reference_ids}  # fmt: skip
        if self.entity_ids is not None:
            arrays["entity_ids"] = self.entity_ids
        with atomic_path(path) as tmp, open(tmp, "wb") as file:
            np.savez(file, **arrays)

    @classmethod
    def load(cls, path, identity: ModelIdentity | None = None) -> ReferenceIndex:
        """The saved index; with ``identity`` (a model's, or the model itself), refuse it if it was made by
        another model. An unknown format version is refused naming both versions."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: reference index not found")
        identity = getattr(identity, "identity", identity)  # a loaded model carries its identity
        with np.load(path, allow_pickle=False) as saved:
            version = int(saved["format"]) if "format" in saved else None
            if version != INDEX_FORMAT:
                raise IndexMismatchError(f"{path}: reference index format {version}, but this version of "
                                         f"clippings_wf reads format {INDEX_FORMAT}: rebuild the index")  # fmt: skip
            meta = json.loads(str(saved["meta"]))
            entity_ids = saved["entity_ids"] if "entity_ids" in saved else None
            index = faiss.deserialize_index(saved["index"])
            reference_ids = saved["reference_ids"]
        fields = ("model_sha256", "architecture", "dim", "w")
        loaded = cls(index, reference_ids, ModelIdentity(*(meta[f] for f in fields)), entity_ids, meta["kind"])
        if identity is not None:
            loaded.check_model(identity, where=f"index {path}")
        return loaded
