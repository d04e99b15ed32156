"""Matplotlib set-up shared by every report figure: a headless backend, a CJK font, deterministic saving.

Importing this module selects the backend and registers the font; the figure modules take ``plt`` from here so
the backend is chosen before pyplot loads.
"""

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

log = logging.getLogger(__name__)

CJK_FONT_FILES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf",
)


def use_cjk_font() -> str | None:
    """Register the first CJK font found so kanji/kana render instead of boxes; None if there is none."""
    for path in CJK_FONT_FILES:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            plt.rcParams["font.family"] = [name, "DejaVu Sans"]
            return name
    log.warning("no CJK font found; Japanese text will render as boxes")
    return None


use_cjk_font()


def save_figure(fig, path_stem) -> list[Path]:
    """Write ``path_stem.png`` and ``path_stem.pdf``, close the figure and return the two paths."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    # A fixed creation date keeps the PDF byte-identical across reruns.
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None})
    plt.close(fig)
    return paths
