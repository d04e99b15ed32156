"""Image preprocessing: PIL crop or photo -> fixed-size uint8 image -> model input tensor.

Crops are stored as uint8 INK intensity (255 - gray, background 0) so that zero padding is background
and a whole dataset fits in memory (24 x 256 bytes per crop).
"""
from __future__ import annotations

from multiprocessing import get_context
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from clippings_wf.image_files import open_image


def preprocess_line_crop(img: Image.Image, height: int, width: int, fit: str = "height") -> np.ndarray:
    """Grayscale crop -> uint8 ink array [height, width], text left-aligned, background 0.

    fit="height": scale to `height` keeping aspect, squeeze horizontally if longer than `width`
    (line crops: wide, short models). fit="contain": scale so the whole crop fits in the box, keeping aspect
    (square inputs of pretrained ViTs, where squeezing a long line to 224 px would destroy it).
    """
    gray = img.convert("L")
    if gray.height > gray.width:  # vertical line: read it left to right after a 90 degree turn
        gray = gray.rotate(90, expand=True, fillcolor=255)
    w, h = gray.size
    if fit == "height":
        new_h, new_w = height, max(1, round(w * height / h))
        new_w = min(new_w, width)
    elif fit == "contain":
        scale = min(height / h, width / w)
        new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    else:
        raise ValueError(f"fit must be 'height' or 'contain', not {fit!r}")
    gray = gray.resize((new_w, new_h), Image.BILINEAR)
    out = np.zeros((height, width), dtype=np.uint8)
    out[:new_h, :new_w] = 255 - np.asarray(gray, dtype=np.uint8)
    return out


def preprocess_photo(img: Image.Image, height: int, width: int) -> np.ndarray:
    """A photograph -> uint8 [height, width] (the tower's square input): the whole picture in grayscale, scaled
    to fit, centred, never turned (a tall photo is not a vertical line). Stored like the line crops, as 255 - gray
    with a margin of 0, so that ``to_model_input`` hands a 3-channel tower the photo as it is on a white margin."""
    gray = img.convert("L")
    w, h = gray.size
    scale = min(height / h, width / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    gray = gray.resize((new_w, new_h), Image.BILINEAR)
    out = np.zeros((height, width), dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    out[top : top + new_h, left : left + new_w] = 255 - np.asarray(gray, dtype=np.uint8)
    return out


def _open(source) -> Image.Image:
    return open_image(source)  # refused over the pixel limit, naming the file (image_files)


def _load_one(args) -> np.ndarray:
    source, height, width, fit = args
    with _open(source) as img:
        if fit == "photo":
            return preprocess_photo(img, height, width)
        return preprocess_line_crop(img, height, width, fit)


def load_crops(sources: Sequence, height: int, width: int, workers: int = 1, fit: str = "height",
               progress: bool = True) -> np.ndarray:
    """Paths (str/Path) or encoded image bytes -> uint8 [N, height, width]: ink arrays of line crops
    (``fit`` "height" or "contain", preprocess_line_crop), or grayscale photos (``fit="photo"``)."""
    sources = [str(s) if isinstance(s, Path) else s for s in sources]
    out = np.zeros((len(sources), height, width), dtype=np.uint8)
    jobs = ((s, height, width, fit) for s in sources)
    bar = dict(total=len(sources), desc="crops", disable=not progress, mininterval=5)
    if workers > 1 and len(sources) > 256:
        with get_context("fork").Pool(workers) as pool:
            for i, arr in enumerate(tqdm(pool.imap(_load_one, jobs, chunksize=256), **bar)):
                out[i] = arr
    else:
        for i, arr in enumerate(tqdm(map(_load_one, jobs), **bar)):
            out[i] = arr
    return out


def to_model_input(batch_uint8: torch.Tensor, channels: int, mean=None, std=None,
                   channels_last: bool = False) -> torch.Tensor:
    """uint8 ink [B, H, W] -> float [B, C, H, W].

    channels=1 (our CNN): ink in [0, 1], background 0, then (x - mean) / std if given.
    channels=3 (pretrained RGB models): back to dark-on-white RGB in [0, 1], then mean/std (e.g. OpenAI CLIP's),
    because that is what such a model saw in pretraining.
    """
    x = batch_uint8.float().div_(255.0).unsqueeze(1)
    if channels == 3:
        x = (1.0 - x).expand(-1, 3, -1, -1)
    elif channels != 1:
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    if mean is not None:
        m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        s = torch.as_tensor(std if std is not None else 1.0, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        x = (x - m) / s
    else:
        x = x.contiguous()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def augment_crops(batch_uint8: torch.Tensor, generator: torch.Generator, max_shift: float = 4.0,
                  scale_jitter: float = 0.1, max_vshift: float = 1.0, contrast: float = 0.3) -> torch.Tensor:
    """Cheap on-the-fly augmentation of uint8 ink crops [B, H, W] -> uint8 [B, H, W].

    Per crop: horizontal scale in [1 - scale_jitter, 1 + scale_jitter] anchored at the left edge, shift by up to
    max_shift px horizontally and max_vshift px vertically, and ink contrast/gain in [1 - contrast, 1 + contrast].
    One affine grid_sample for the whole batch. Random numbers come from `generator` (CPU) only, so the
    result is deterministic for a seeded generator on any device.
    """
    b, h, w = batch_uint8.shape
    dev = batch_uint8.device
    r = torch.rand(b, 4, generator=generator) * 2 - 1  # uniform [-1, 1]
    scale = 1 + scale_jitter * r[:, 0]
    dx = max_shift * r[:, 1] * 2 / w  # pixels -> normalized coords
    dy = max_vshift * r[:, 2] * 2 / h
    gain = 1 + contrast * r[:, 3]
    # output x_o samples input at x_i = (x_o + 1) / scale - 1 - dx: scaling keeps the left edge (text start) fixed
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = 1 / scale
    theta[:, 0, 2] = 1 / scale - 1 - dx
    theta[:, 1, 1] = 1
    theta[:, 1, 2] = -dy
    x = batch_uint8.float().unsqueeze(1)
    grid = F.affine_grid(theta.to(dev), [b, 1, h, w], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    x = x.squeeze(1) * gain.to(dev).view(b, 1, 1)
    return x.round_().clamp_(0, 255).to(torch.uint8)


__all__ = ["preprocess_line_crop", "preprocess_photo", "load_crops", "to_model_input", "augment_crops"]
