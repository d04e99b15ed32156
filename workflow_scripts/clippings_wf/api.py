"""Link, cluster and deduplicate new records with a trained model, from Python (after ``pip install -e .``).

    from clippings_wf import api
    model = api.load_model("results/jp_firms/export/sup_multimodal")     # an exported bundle, or a model.pt
    refs = model.index("new/references.csv", ocr_column="text")          # embed the references once ...
    refs.save("refs.npz")                                                 # ... and keep them
    matches = model.link("new/queries.csv", refs, ocr_column="text")     # top-5, no-match at the tuned threshold
    clusters = model.cluster("new/records.csv", ocr_column="text")       # record_id, cluster_id

Records are a manifest path (CSV or Parquet: record_id, image_path, optionally an OCR text column and entity_id)
or a DataFrame with those columns; without ``ocr_column`` Tesseract reads the crops. An exported bundle
(``results/<dataset>/export/<model>/``: model.pt, bundle.json, README.md) carries the pooling weight w and the
thresholds tuned on validation (no-match and clustering, per OCR condition), which ``threshold="tuned"`` uses; a
bare model.pt carries only its w, so its thresholds must be given.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from clippings_wf import image_files
from clippings_wf.linking import clusters, matching
from clippings_wf.linking.reference_index import ModelIdentity, ReferenceIndex
from clippings_wf.runtime import checksums

log = logging.getLogger(__name__)

BUNDLE_FORMAT = 1
DEFAULT_LANGS = ("jpn", "jpn_vert")  # Tesseract's languages where neither the caller nor the bundle names one
DEFAULT_NEIGHBOURS = 50  # the workflow's evaluation.cluster_neighbours default, for a bare model.pt



def read_bundle_json(folder: Path) -> dict:
    """bundle.json of an exported model; a format this code does not know is refused naming both versions."""
    path = folder / "bundle.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not an exported model: it has no bundle.json")
    info = json.loads(path.read_text(encoding="utf-8"))
    if info.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"{path}: bundle format {info.get('format')!r}, but this version of clippings_wf reads "
                         f"format {BUNDLE_FORMAT}")  # fmt: skip
    return info


def load_model(path, device="auto", w: float | None = None) -> LinkingModel:
    """A model ready to embed, link and cluster. ``path``: an exported bundle folder, or a bare model.pt (then
    no tuned thresholds). ``w`` overrides the bundle's (or the artifact's) image weight of the pooled embedding."""
    import torch

    from clippings_wf.models import artifacts, modeling

    path = Path(path)
    info = read_bundle_json(path) if path.is_dir() else {}
    model_pt = path / "model.pt" if path.is_dir() else path
    if not model_pt.is_file():
        raise FileNotFoundError(f"{model_pt}: model file not found")
    sha = checksums.file_sha256(model_pt)
    if info.get("model_sha256") and info["model_sha256"] != sha:
        raise ValueError(f"{model_pt} has sha256 {sha[:12]}, but bundle.json was written for "
                         f"{info['model_sha256'][:12]}: the bundle's model file was changed; export it again")
    device = modeling.pick_device(device)
    artifact = artifacts.load_artifact(model_pt, device=device)
    if artifact.channels == 1 and device.type == "cpu":
        artifact.model.visual.to(memory_format=torch.channels_last)
    if w is not None and "w" in info and float(w) != float(info["w"]):
        # The bundle's thresholds were tuned on similarities at its own w: they do not carry over to another one.
        log.warning("w = %s overrides the bundle's %s: its tuned thresholds no longer apply and are dropped", w,
                    info["w"])
        info = {**info, "thresholds": {}}
    if w is None:
        w = float(info["w"]) if "w" in info else float(artifact.extra.get("w", 0.5))
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"w must be between 0 and 1, not {w}")
    model = LinkingModel(artifact, device, float(w), info, sha, path)
    log.info("%s: %s on %s, w = %.2f", path, model.identity.describe(), device, model.w)
    return model


class LinkingModel:
    """A loaded model with what its bundle.json says (empty for a bare model.pt); see the module docstring."""

    def __init__(self, artifact, device, w: float, info: dict, model_sha256: str, path: Path):
        self.artifact, self.device, self.w, self.info, self.path = artifact, device, w, info, path
        self.record_kind = info.get("record_kind") or (artifact.extra or {}).get("record_kind", "text_line")
        self.identity = ModelIdentity(model_sha256, artifact.architecture, int(artifact.model_cfg["embed_dim"]), w)

    def tuned_threshold(self, task: str, ocr: str = "noisy") -> float:
        """The bundle's threshold for ``task`` ("nomatch" or "cluster") under the ``ocr`` condition."""
        if not self.info:
            raise ValueError(f"{self.path} is a bare model file without bundle.json, so it has no tuned {task} "
                             "threshold: pass one (--threshold 0.8; threshold=0.8 in Python), or load the exported "
                             "bundle folder")  # fmt: skip
        tuned = self.info.get("thresholds", {}).get(task, {})
        if ocr not in tuned:
            raise ValueError(f"bundle {self.path} ({self.info.get('method')}) has no tuned {task} threshold for "
                             f"{ocr!r} OCR (it has: {sorted(tuned) or 'none'}): pass one (--threshold 0.8; "
                             "threshold=0.8 in Python)")  # fmt: skip
        return float(tuned[ocr])

    def resolve_threshold(self, threshold, task: str, ocr: str = "noisy") -> float | None:
        """"tuned" -> the bundle's; None stays None (no threshold); a number is used as given."""
        if isinstance(threshold, str) and threshold == "tuned":
            return self.tuned_threshold(task, ocr)
        return None if threshold is None else float(threshold)

    def _records(self, records, ocr_column=None, lang=None, lang_vertical=None, max_ocr_chars: int = 256,
                 workers: int = 1, batch_size: int = 512, image_roots=(),
                 max_pixels: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:  # fmt: skip
        """The records' table (record_id, image_file, text[, entity_id]) and their pooled embeddings.

        Image paths are untrusted (``clippings_wf.image_files``): they must lead into the manifest's folder (a
        DataFrame's: the working folder) or one of ``image_roots``, and no image may exceed ``max_pixels``
        (default PIL's 89,478,485); a refusal names the record, the column and the path."""
        if ocr_column is None and self.record_kind == "photo_caption":
            raise ValueError(f"{self.path} embeds photos with their captions: give the captions' text as an OCR "
                             "column (--ocr-column / ocr_column=); Tesseract would read the photo, not its caption")
        ocr = self.info.get("ocr") or {}
        if ocr_column is None and lang is None and not ocr.get("lang"):
            log.warning("%s is a bare model file: Tesseract reads with %s (pass --lang, the language the model was "
                        "trained on, or load its exported bundle)", self.path, "/".join(DEFAULT_LANGS))
        lang = lang or ocr.get("lang") or DEFAULT_LANGS[0]
        lang_vertical = lang_vertical or ocr.get("lang_vertical") or DEFAULT_LANGS[1]
        # A DataFrame is checked as a temporary manifest whose paths were made absolute against the working folder.
        roots = [*image_roots, *([Path.cwd()] if isinstance(records, pd.DataFrame) else [])]
        with image_files.extra_roots(roots, max_pixels):
            table = matching.load_records(records, ocr_column, lang, lang_vertical, max_ocr_chars, workers=workers)
            log.info("%d records from %s", len(table), "a DataFrame" if isinstance(records, pd.DataFrame) else records)
            emb = matching.embed(self.artifact, table, self.w, self.device, batch_size, workers=workers)
        return table, emb

    def embed(self, records, ocr_column=None, **options) -> np.ndarray:
        """Pooled, L2-normalized embeddings [N, dim] in the records' order. options: lang, lang_vertical,
        max_ocr_chars, workers, batch_size, image_roots, max_pixels."""
        return self._records(records, ocr_column, **options)[1]

    def index(self, references, ocr_column=None, kind: str = "flat", **options) -> ReferenceIndex:
        """The references embedded into a FAISS index (with their entity ids, where the manifest has them)."""
        table, emb = self._records(references, ocr_column, **options)
        entity_ids = table["entity_id"] if "entity_id" in table else None
        return ReferenceIndex.build(emb, table["record_id"], self.identity, entity_ids, kind=kind)

    def load_index(self, path) -> ReferenceIndex:
        """A saved index, refused if another model (weights, dimension or w) made it."""
        return ReferenceIndex.load(path, self.identity)

    def link(self, queries, references, top_k: int = 5, threshold="tuned", ocr: str = "noisy", ocr_column=None,
             **options) -> pd.DataFrame:  # fmt: skip
        """matches.csv's table: each query's best reference, the top-k, and no_match below the threshold
        ("tuned": the bundle's no-match threshold for ``ocr``; None: nothing flagged). ``references``: records,
        or a ReferenceIndex (made by this model)."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k}")
        threshold = self.resolve_threshold(threshold, "nomatch", ocr)
        if not isinstance(references, ReferenceIndex):
            references = self.index(references, ocr_column, **options)
        references.check_model(self.identity)
        table, emb = self._records(queries, ocr_column, **options)
        return matching.match_index(emb, table["record_id"], references, top_k=top_k, threshold=threshold)

    def cluster(self, records, threshold="tuned", ocr: str = "noisy", neighbours: int | None = None,
                ocr_column=None, **options) -> pd.DataFrame:  # fmt: skip
        """record_id, cluster_id: single linkage at ``threshold`` ("tuned": the bundle's clustering threshold
        for ``ocr``) on each record's ``neighbours`` nearest (default: the bundle's cluster_neighbours)."""
        threshold = self.resolve_threshold(threshold, "cluster", ocr)
        if threshold is None:
            raise ValueError("clustering needs a threshold: 'tuned' or a number")
        neighbours = neighbours or int(self.info.get("cluster_neighbours", DEFAULT_NEIGHBOURS))
        table, emb = self._records(records, ocr_column, **options)
        return clusters.cluster_embeddings(emb, table["record_id"], threshold, neighbours)

    def deduplicate(self, records, threshold="tuned", ocr: str = "noisy", neighbours: int | None = None,
                    ocr_column=None, **options) -> pd.DataFrame:  # fmt: skip
        """``cluster``'s table with cluster_size, representative_id (each cluster's first record) and
        is_duplicate; keep the rows where is_duplicate is false for one record per entity."""
        return clusters.deduplicate(self.cluster(records, threshold, ocr, neighbours, ocr_column, **options))
