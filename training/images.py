"""Drawing what a run shows: image grids (PNG, and arrays for TensorBoard), their animation, the loss plot.

Each file is written whole or not at all (`preprocessing.atomic_files`); one that cannot be written raises
`atomic_files.WriteError`, whose message names it and says why.
"""

from __future__ import annotations

import keras
import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from preprocessing import atomic_files


def to_unit_range(images) -> np.ndarray:
    """Images in [-1, 1] (tensor or array) -> float32 NumPy in [0, 1]."""
    images = keras.ops.convert_to_numpy(keras.ops.cast(images, "float32"))
    return np.clip((images + 1.0) / 2.0, 0.0, 1.0)


def heatmap_overlay(images: np.ndarray, heatmaps: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """Attention heatmaps over their images: images [N, H, W, 3] in [0, 1], heatmaps [N, h, w(, 1)] of any range.

    Each heatmap is scaled to [0, 1] on its own (min to max; a constant one is
    all 0, never NaN), resized to the image bilinearly, coloured with the jet
    colormap (blue low, red high), and blended over the image with `opacity`.
    """
    heatmaps = np.asarray(heatmaps, np.float32).reshape(len(heatmaps), *np.shape(heatmaps)[1:3])
    low = heatmaps.min(axis=(1, 2), keepdims=True)
    spread = heatmaps.max(axis=(1, 2), keepdims=True) - low
    scaled = np.divide(heatmaps - low, spread, out=np.zeros_like(heatmaps), where=spread > 0)
    height, width = images.shape[1:3]
    resized = np.stack([np.asarray(Image.fromarray(map_).resize((width, height), Image.BILINEAR)) for map_ in scaled])
    coloured = colormaps["jet"](np.clip(resized, 0.0, 1.0))[..., :3].astype(np.float32)
    return (1.0 - opacity) * np.asarray(images, np.float32) + opacity * coloured


def grid_image(rows, gap: int = 2) -> np.ndarray:
    """[(name, images [N, H, W, 3] in [0, 1]), ...] -> one [H', W', 3] image, rows top to bottom, white gaps."""
    height, width = rows[0][1].shape[1:3]
    columns = max(len(images) for _, images in rows)
    grid = np.ones((len(rows) * (height + gap) - gap, columns * (width + gap) - gap, 3), "float32")
    for row, (_, images) in enumerate(rows):
        for column, image in enumerate(images):
            top, left = row * (height + gap), column * (width + gap)
            grid[top : top + height, left : left + width] = image
    return grid


def save_grid_png(rows, path, title: str = "") -> None:
    """[(name, images [N, H, W, 3] in [0, 1]), ...] -> a PNG with one row per name, labelled on the left."""
    columns = max(len(images) for _, images in rows)
    figure = Figure(figsize=(1.6 + 1.2 * columns, 0.4 + 1.2 * len(rows)), layout="constrained")
    axes = figure.subplots(len(rows), columns, squeeze=False, gridspec_kw={"wspace": 0.03, "hspace": 0.03})
    for row, (name, images) in enumerate(rows):
        for column, ax in enumerate(axes[row]):
            if column < len(images):
                ax.imshow(images[column], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        axes[row][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=10)
    if title:
        figure.suptitle(title)
    with atomic_files.replaced_atomically(path) as partial:
        figure.savefig(partial, dpi=100)


def save_animation(png_paths, path, max_frames: int = 100, frame_ms: int = 400, last_frame_ms: int = 2000) -> None:
    """The PNGs (e.g. one grid per epoch, in order) as a looping animated GIF.

    At most `max_frames`, evenly spread and always including the last, so a
    300-epoch run stays a GIF of a few megabytes; the last frame is held longer.
    """
    png_paths = list(png_paths)
    picks = np.unique(np.linspace(0, len(png_paths) - 1, min(max_frames, len(png_paths))).round().astype(int))
    frames = []
    for index in picks:
        with Image.open(png_paths[index]) as png:
            frames.append(png.convert("RGB").quantize())  # 1 byte a pixel: 100 large frames fit in memory
    durations = [frame_ms] * (len(frames) - 1) + [last_frame_ms]
    with atomic_files.replaced_atomically(path) as partial:
        frames[0].save(partial, save_all=True, append_images=frames[1:], duration=durations, loop=0)


def plot_losses(history: dict, path) -> None:
    """One panel per logged loss against the epoch."""
    names = [name for name in history if name != "epoch"]
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    figure = Figure(figsize=(4.0 * columns, 3.0 * rows))
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        values = [np.nan if value is None else value for value in history[name]]
        ax.plot(history["epoch"], values, marker="o", markersize=3)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    figure.tight_layout()
    with atomic_files.replaced_atomically(path) as partial:
        figure.savefig(partial, dpi=100)
