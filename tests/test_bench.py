"""The scaling benchmark (bench/scaling.py): a --quick run into a tmp dir, and the embedding measurement on a tiny
random-init model. Checks the table, the recall of the approximate index and the files; never timings."""

import importlib.util
import subprocess
import sys

import pandas as pd
import pytest

from helpers import REPO

pytestmark = pytest.mark.bench

SCRIPT = REPO / "bench" / "scaling.py"


@pytest.fixture(scope="module")
def scaling():
    spec = importlib.util.spec_from_file_location("scaling", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("scaling")
    # budget 0: Levenshtein is measured at the first size only and extrapolated at the second
    args = ["--quick", "--sizes", "1000", "2000", "--out", str(out), "--model", str(out / "no_model.pt"),
            "--ocr-crops", "6", "--string-budget-s", "0"]
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def test_quick_run_table(quick_run, scaling):
    table = pd.read_csv(quick_run / "scaling.csv")
    assert list(table.columns) == scaling.COLUMNS
    link = table[table.task == "linking"].set_index(["method", "n"])
    expected = {(m, n) for m in ("faiss_flat_exact", "faiss_hnsw", "rapidfuzz_levenshtein") for n in (1000, 2000)}
    assert set(link.index) == expected
    assert (link.n_queries == link.index.get_level_values("n")).all()
    # the approximate index searched every query and reached the recall target against exact search
    hnsw = link.loc["faiss_hnsw"]
    assert (hnsw.measured_queries == hnsw.n_queries).all()
    assert (hnsw.recall_at_1 >= 0.98).all(), hnsw.recall_at_1
    assert hnsw.params.str.contains("efSearch=").all()
    # queries are noisy copies of references: exact search mostly finds the source, so recall is meaningful
    exact = link.loc["faiss_flat_exact"]
    assert (exact.top1_is_source > 0.8).all()
    # --quick caps exact search at 1,000 queries: beyond that it is a sample, scaled and labelled so
    assert exact.loc[1000, "status"] == "measured"
    assert exact.loc[2000, "status"].startswith("extrapolated") and exact.loc[2000, "measured_queries"] == 1000
    lev = link.loc["rapidfuzz_levenshtein"]
    assert lev.loc[1000, "status"] == "measured" and lev.loc[2000, "status"].startswith("extrapolated")
    assert lev.loc[2000, "total_s"] == pytest.approx(4 * lev.loc[1000, "total_s"])  # c n^2 through one point
    measured = table[table.status == "measured"]
    assert (measured.peak_rss_mb > 0).all() and (measured.total_s >= 0).all()
    embed = table[table.task == "embedding"].iloc[0]
    assert embed.status == "skipped" and "no_model.pt" in embed.note
    ocr = table[table.task == "ocr"].iloc[0]
    assert ocr.n == 6 and ocr.throughput > 0 and ocr.peak_rss_workers_mb > 0


def test_quick_run_report_and_figure(quick_run):
    md = (quick_run / "scaling.md").read_text()
    for needle in ("CPU:", "faiss", "rapidfuzz", "open_clip", "Load average", "NOT MEASURED", "extrapolated"):
        assert needle in md, needle
    assert (quick_run / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (quick_run / "scaling_work").exists()


def test_embedding_throughput_of_a_model(tmp_path, scaling):
    from clippings_wf.models.artifacts import save_artifact
    from clippings_wf.models.modeling import build_model
    from clippings_wf.models.tokenizer import CharTokenizer

    assert scaling.make_crops(tmp_path / "crops", 6)["records"] >= 6
    texts = pd.read_csv(tmp_path / "crops" / "records.csv")["text"]
    tokenizer = CharTokenizer(sorted(set("".join(texts))))
    model_path = tmp_path / "model.pt"
    arch = scaling.DEFAULT_ARCHITECTURE
    save_artifact(model_path, build_model(arch, None, tokenizer.vocab_size), arch, tokenizer)
    result = scaling.measure_embedding(str(model_path), str(tmp_path / "crops"), 6, batch_size=4, threads=1)
    assert result["n"] == 6 and result["throughput"] > 0
    assert result["params"].startswith(arch)
