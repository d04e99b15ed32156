"""The Snakefile asks which vision tower an architecture has while it is parsed, from the JSON configs alone
(no torch, no open_clip import: every SLURM job parses it again). Those answers must be open_clip's own."""

import subprocess
import sys

import open_clip
import pytest

from clippings_wf.config_checks import known_architectures
from clippings_wf.models import architectures, tower_kinds  # noqa: F401  (architectures registers our configs)

from helpers import REPO


@pytest.mark.parametrize("architecture", known_architectures())
def test_config_read_from_disk_is_open_clips(architecture):
    assert tower_kinds.model_config(architecture) == open_clip.get_model_config(architecture)


def test_tower_kinds_of_our_architectures():
    assert tower_kinds.uses_recognizer("clippings-textline-char") and tower_kinds.line_width("clippings-textline-char") == 320
    assert tower_kinds.uses_photo_encoder("clippings-photo-char-en")
    assert not tower_kinds.uses_recognizer("clippings-linecnn-char") and not tower_kinds.uses_photo_encoder("ViT-B-32")
    assert tower_kinds.model_config("no-such-architecture") == {}


def test_snakefile_imports_no_torch():
    # rules/common.smk's own import lines, in a fresh interpreter: torch and open_clip stay out.
    lines = (REPO / "rules" / "common.smk").read_text().split("\ndef ")[0].splitlines()
    imports, open_paren = [], False
    for line in lines:
        if line.startswith(("import ", "from ")) or open_paren:
            imports.append(line)
            open_paren = line.rstrip().endswith("(") or (open_paren and not line.strip().startswith(")"))
    assert any("clippings_wf" in line for line in imports)
    code = "import sys; sys.path.insert(0, 'workflow_scripts')\n" + "\n".join(imports) + (
        "\nprint('torch' in sys.modules, 'open_clip' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], imports
