"""Shared fixtures of the preprocessing tests.

`mixed_image_folder` is the folder every CLI and source test can run on: good
images in several modes and formats mixed with files that must be skipped.
`run_cli` runs a preprocessing CLI the way a user does; `file_hashes` proves a
folder was left untouched.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from PIL import Image, ImageDraw

from preprocessing import cartoonset

REPO_ROOT = Path(__file__).resolve().parents[2]
SKIN = (224, 172, 140)
FEATURES = (60, 40, 30)
LIPS = (170, 50, 60)


class MixedFolder(NamedTuple):
    """What `mixed_image_folder` returns; unpacks as (path, good, bad)."""

    path: Path
    good: tuple[str, ...]  # relative POSIX paths of the files every reader must decode
    bad: tuple[str, ...]  # relative POSIX paths of the files every reader must skip


def face_drawing(width: int, height: int, margin: int) -> Image.Image:
    """RGBA: a skin-coloured ellipse with eyes and a mouth, `margin` px transparent around it."""
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = margin, margin, width - 1 - margin, height - 1 - margin
    draw.ellipse((left, top, right, bottom), fill=(*SKIN, 255))
    face_width, face_height = right - left, bottom - top
    for eye_x in (left + 0.3 * face_width, left + 0.7 * face_width):
        eye_y = top + 0.4 * face_height
        draw.ellipse((eye_x - 3, eye_y - 3, eye_x + 3, eye_y + 3), fill=(*FEATURES, 255))
    mouth_y = top + 0.72 * face_height
    draw.rectangle((left + 0.35 * face_width, mouth_y - 2, left + 0.65 * face_width, mouth_y + 2), fill=(*LIPS, 255))
    return image


def on_white(image: Image.Image) -> Image.Image:
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image).convert("RGB")


@pytest.fixture
def mixed_image_folder(tmp_path) -> MixedFolder:
    """A folder `tmp_path/mixed` mixing readable and unreadable images.

    Good (5; none share an output name, so DST/<name>.png is unique):
      face_1.png         RGB 96x120, face drawing on white; face_1.csv (Cartoon Set
                         attributes) lies beside it
      sub/face_2.png     RGB 80x80, in a sub-folder
      gray.png           grayscale (mode L) 90x90 face
      transparent.png    RGBA 100x100, face on a fully transparent background
      photo.jpg          JPEG 110x90 face on white
    Bad (2):
      truncated.png      a good PNG cut in half
      not_an_image.png   a text file named .png
    Every drawing has a white or transparent margin of at least 10 px. The
    contents are deterministic; tests may rely on the sizes above.
    """
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    on_white(face_drawing(96, 120, margin=12)).save(folder / "face_1.png")
    cartoonset.write_attribute_file(
        folder / "face_1.csv", {"hair": 84, "face_color": 3}, cartoonset.CARTOONSET_ATTRIBUTES
    )
    on_white(face_drawing(80, 80, margin=10)).save(folder / "sub" / "face_2.png")
    on_white(face_drawing(90, 90, margin=10)).convert("L").save(folder / "gray.png")
    face_drawing(100, 100, margin=15).save(folder / "transparent.png")
    on_white(face_drawing(110, 90, margin=10)).save(folder / "photo.jpg", quality=90)

    noisy = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(folder / "truncated.png")
    whole = (folder / "truncated.png").read_bytes()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    (folder / "not_an_image.png").write_text("This is a text file, not a PNG.\n")

    good = ("face_1.png", "gray.png", "photo.jpg", "sub/face_2.png", "transparent.png")
    bad = ("not_an_image.png", "truncated.png")
    return MixedFolder(folder, good, bad)


@pytest.fixture
def run_cli():
    """`run_cli("crop_faces", *args, env={...})` -> CompletedProcess of `python -m preprocessing.X`.

    `env` adds variables to the current environment.
    """

    def run(module: str, *args, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", f"preprocessing.{module}", *map(str, args)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=120,
        )

    return run


@pytest.fixture
def file_hashes():
    """`file_hashes(folder)` -> {relative path: sha256} of every file under it."""

    def hashes(folder: Path) -> dict[str, str]:
        return {
            path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }

    return hashes
