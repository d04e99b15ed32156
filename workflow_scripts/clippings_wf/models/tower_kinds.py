"""Which vision tower an architecture has, read from its JSON model config alone (ours in ``model_configs/``,
open_clip's in its package folder), without importing torch or open_clip: the Snakefile asks this while it is
parsed, and on a cluster every job parses it again, so a torch import there cost seconds per job.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

OUR_CONFIGS = Path(__file__).resolve().parent / "model_configs"


def config_folders() -> list[Path]:
    """Ours first (open_clip.add_model_config gives ours the same precedence), then open_clip's built-ins."""
    folders = [OUR_CONFIGS]
    spec = importlib.util.find_spec("open_clip")
    if spec is not None and spec.submodule_search_locations:
        folders += [Path(folder) / "model_configs" for folder in spec.submodule_search_locations]
    return folders


@functools.lru_cache(maxsize=None)
def model_config(architecture: str) -> dict:
    """The architecture's model config as open_clip.get_model_config gives it; {} for a name nobody configures."""
    for folder in config_folders():
        path = folder / f"{architecture}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    return {}


def _vision_tower(architecture: str) -> str:
    return str(model_config(architecture).get("vision_cfg", {}).get("timm_model_name", ""))


def uses_recognizer(architecture: str) -> bool:
    """Is the vision tower the PP-OCR recognizer's (textline_tower.py)?"""
    return _vision_tower(architecture).startswith("clippings_textline")


def uses_photo_encoder(architecture: str) -> bool:
    """Is the vision tower the photo tower (photo_tower.py)?"""
    return _vision_tower(architecture).startswith("clippings_photo")


def line_width(architecture: str) -> int:
    """The vision tower's input width in pixels (a line tower reads lines 48 pixels high)."""
    size = model_config(architecture)["vision_cfg"]["image_size"]
    return int(size[1] if isinstance(size, (list, tuple)) else size)
