"""The scaling benchmark's data: generated embeddings shaped like the default model's, OCR-like firm names for the
string tools, and crops from the benchmark generator for the embedding and OCR throughput."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

OCR_CER = {"reference": 0.12, "query": 0.22}  # the default run's Tesseract CER on noisy references / queries
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(n, start + size)) for start in range(0, n, size)]


def normalise(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def synthetic_embeddings(n: int, settings: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(references [n, d], queries [n, d], the source reference of each query): L2-normalised float32.

    References scatter around the centre of their family (``cluster_size`` references each); each query is a
    noisy copy of one reference (a permutation, so every reference is asked for once), its noise level
    log-normal across queries. Every Gaussian has an exponentially decaying variance spectrum, as real embeddings
    do (isotropic vectors would be unlike them). Deterministic in (n, settings): each process rebuilds the same.
    """
    d = int(settings["dim"])
    rng = np.random.default_rng(settings["seed"])
    scale = np.exp(-np.arange(d) / settings["spectrum_decay"])
    scale = np.sqrt(scale / scale.sum()).astype(np.float32)  # unit expected squared norm

    def gaussian(rows):
        return rng.standard_normal((rows, d), dtype=np.float32) * scale

    centres = normalise(gaussian(max(1, n // int(settings["cluster_size"]))))
    family = rng.integers(len(centres), size=n)
    source = rng.permutation(n)
    noise = (settings["query_noise"] * np.exp(settings["query_noise_sigma"] * rng.standard_normal(n))).astype(np.float32)
    refs, queries = np.empty((n, d), np.float32), np.empty((n, d), np.float32)
    # in blocks, so that a measurement's peak memory is its data and index, not generation temporaries
    for lo, hi in chunks(n, 100_000):
        refs[lo:hi] = normalise(centres[family[lo:hi]] + settings["reference_spread"] * gaussian(hi - lo))
    for lo, hi in chunks(n, 100_000):
        queries[lo:hi] = normalise(refs[source[lo:hi]] + noise[lo:hi, None] * gaussian(hi - lo))
    return refs, queries, source


def similarity_statistics(queries: np.ndarray, refs: np.ndarray) -> dict[str, list[float]]:
    """Quantiles (QUANTILES) of each query's best reference similarity, its second best and the gap between them:
    what decides how hard a query is for an approximate index (a small gap is easy to get wrong)."""
    top = np.empty((len(queries), 2), np.float32)
    for lo, hi in chunks(len(queries), 2000):
        sims = queries[lo:hi] @ refs.T
        top[lo:hi] = -np.sort(-np.partition(sims, sims.shape[1] - 2, axis=1)[:, -2:], axis=1)
    return {"best": np.quantile(top[:, 0], QUANTILES).tolist(), "second": np.quantile(top[:, 1], QUANTILES).tolist(),
            "gap": np.quantile(top[:, 0] - top[:, 1], QUANTILES).tolist()}


def _ocr_noise(text: str, cer: float, charset: list[str], rng) -> str:
    """Substitute, drop or insert characters at rate ``cer`` (equal odds), as OCR errors do."""
    out = []
    for ch in text:
        if rng.random() >= cer:
            out.append(ch)
            continue
        kind = rng.integers(3)
        if kind == 0:
            out.append(charset[rng.integers(len(charset))])
        elif kind == 2:
            out += [ch, charset[rng.integers(len(charset))]]
    return "".join(out)


def ocr_like_strings(n: int, seed: int = 0) -> tuple[list[str], list[str], np.ndarray]:
    """(references, queries, source reference of each query): generator firm names written as the benchmark
    writes them (legal forms; old character forms and legal-form variants in queries) with character noise at the
    OCR error rates of the default run. Beyond 50,000 names repeat, which does not change the cost of matching."""
    from clippings_wf.data import names, render, vocab_ja

    rng = np.random.default_rng(seed)
    base = names.generate_base_names(min(n, 50_000), rng)
    base = [base[i] for i in rng.integers(len(base), size=n)] if n > len(base) else base
    charset = sorted(vocab_ja.common_charset())
    refs, forms = [], []
    for name in tqdm(base, desc="reference strings", mininterval=5):
        form = render.sample_entity_legal_form(rng)
        forms.append(form)
        refs.append(_ocr_noise(render.apply_legal_form(name, *form), OCR_CER["reference"], charset, rng))
    source = rng.permutation(n)
    queries = []
    for i in tqdm(source, desc="query strings", mininterval=5):
        style = render.sample_query_style(rng, forms[i])
        text = render.apply_old_forms(render.apply_legal_form(base[i], style["legal_form"], style["position"]),
                                      rng, style["old_form_prob"])
        queries.append(_ocr_noise(text, OCR_CER["query"], charset, rng))
    return refs, queries, source


def make_crops(out_dir: Path, n_records: int, seed: int = 0) -> dict:
    """Crops from the benchmark generator (references and queries, both orientations): records.csv + images/."""
    from clippings_wf.data import benchmark

    # a firm has 2.5 records on average (a reference, 1-3 queries for three in four firms)
    records = benchmark.generate_benchmark(out_dir, n_entities=n_records // 2 + 4, seed=seed)
    return {"records": len(records)}
