"""Reading and writing image files, the one place every CLI and source does it.

Readers decode the whole file (so a truncated PNG fails here, not in the
middle of a training run) and raise `UnreadableImageError` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from preprocessing import atomic_files

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
WHITE = (255, 255, 255)


class UnreadableImageError(ValueError):
    """An image file that cannot be decoded (corrupt, truncated, not an image)."""


class EmptySourceError(ValueError):
    """A folder that holds no image files."""


def list_images(root: str | Path) -> list[Path]:
    """Every image file under `root` (recursive, sorted, case-insensitive extensions)."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such file or directory")
    if root.is_file():
        return [root]
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise EmptySourceError(f"{root}: no image files ({', '.join(IMAGE_EXTENSIONS)}) found under this folder")
    return files


def _open_fully(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImageError(f"{path}: cannot decode image ({error})") from error
    return image


def read_rgba(path: str | Path) -> np.ndarray:
    """HxWx4 uint8; images without transparency get an opaque alpha channel."""
    return np.asarray(_open_fully(Path(path)).convert("RGBA"))


def composite_on(rgba: np.ndarray, background=WHITE) -> np.ndarray:
    """Alpha-composite an HxWx4 uint8 image onto a flat colour -> HxWx3 uint8."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + np.asarray(background, np.float32) * (1 - alpha)
    return np.round(rgb).astype(np.uint8)


def read_rgb(path: str | Path, background=WHITE) -> np.ndarray:
    """HxWx3 uint8 from any mode (grayscale, palette, RGBA composited onto `background`)."""
    image = _open_fully(Path(path))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        return composite_on(np.asarray(image.convert("RGBA")), background)
    return np.asarray(image.convert("RGB"))


def write_png(image: np.ndarray, path: str | Path) -> None:
    """Write an HxW, HxWx3 or HxWx4 uint8 array as PNG, creating parent folders; whole or not at all
    (`atomic_files.WriteError` naming `path` when it cannot be written)."""
    with atomic_files.replaced_atomically(path) as partial:
        Image.fromarray(np.asarray(image, np.uint8)).save(partial)


class SquareWindow(NamedTuple):
    """A square in pixel-edge coordinates: the image spans [0, W] x [0, H], so
    pixel (row i, column j) has its centre at (x, y) = (j + 0.5, i + 0.5)."""

    center_x: float
    center_y: float
    side: int

    def top_left(self) -> tuple[int, int]:
        """(left, top): the image pixel that becomes the crop's pixel (0, 0)."""
        left = int(np.floor(self.center_x - self.side / 2 + 0.5))
        top = int(np.floor(self.center_y - self.side / 2 + 0.5))
        return left, top


def crop_square(image: np.ndarray, window: SquareWindow, fill) -> np.ndarray:
    """The `window` of an HxWxC image, padded with `fill` (one value per channel) outside it."""
    height, width, channels = image.shape
    left, top = window.top_left()
    cropped = np.empty((window.side, window.side, channels), image.dtype)
    cropped[...] = np.asarray(fill, image.dtype)
    inside_top, inside_bottom = max(top, 0), min(top + window.side, height)
    inside_left, inside_right = max(left, 0), min(left + window.side, width)
    if inside_top < inside_bottom and inside_left < inside_right:
        cropped[inside_top - top : inside_bottom - top, inside_left - left : inside_right - left] = image[
            inside_top:inside_bottom, inside_left:inside_right
        ]
    return cropped


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an HxWx3 or HxWx4 uint8 image to `size` x `size` with Lanczos filtering.

    Pillow widens the filter when shrinking (area-like, no aliasing) and
    premultiplies RGBA by alpha, so transparent pixels do not bleed into edges.
    """
    resized = Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(resized)
