"""crop_cartoons: the box around the drawing, and the CLI's own features."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from preprocessing import crop_cartoons
from preprocessing.image_io import SquareWindow

RED = (200, 30, 30)
FLAGS = ("--size", "--margin", "--background_threshold", "--keep_alpha")


def _drawing(background_rgba) -> np.ndarray:
    """80 wide x 100 high; a red drawing over rows [20, 60) and columns [30, 50)."""
    image = np.empty((100, 80, 4), np.uint8)
    image[...] = background_rgba
    image[20:60, 30:50] = (*RED, 255)
    return image


# The drawing is 40 high and 20 wide, centred on (x, y) = (40, 40): a 40 px square.
@pytest.mark.parametrize(
    "background",
    [(0, 0, 0, 0), (255, 255, 255, 255), (250, 252, 249, 255), (90, 140, 200, 255)],
    ids=["transparent", "white", "near-white", "corner-colour"],
)
@pytest.mark.parametrize("margin, side", [(0.0, 40), (0.25, 60)])
def test_drawing_window_is_the_square_around_the_drawing(background, margin, side):
    window = crop_cartoons.drawing_window(_drawing(background), margin=margin, threshold=16)
    assert window == SquareWindow(40.0, 40.0, side)


def test_alpha_box_ignores_transparent_colours_and_faint_alpha():
    image = _drawing((0, 0, 0, 0))
    image[0:5, 0:5] = (10, 10, 10, 0)  # dark but fully transparent
    image[90, 70] = (*RED, 10)  # faint alpha noise, within the threshold
    mask = crop_cartoons.drawing_mask(image, threshold=16)
    assert crop_cartoons.mask_bounding_box(mask) == (20, 30, 60, 50)


def test_background_falls_back_to_white_when_the_corners_disagree():
    rgb = np.full((10, 10, 3), 255, np.uint8)
    rgb[0, 0] = (0, 0, 0)  # the drawing reaches a corner
    assert crop_cartoons.background_colour(rgb, 16).tolist() == [255, 255, 255]
    rgb[...] = (90, 140, 200)
    assert crop_cartoons.background_colour(rgb, 16).tolist() == [90, 140, 200]


def test_crop_cartoon_centres_the_drawing_on_white():
    image, found = crop_cartoons.crop_cartoon(
        _drawing((0, 0, 0, 0)), size=32, margin=0.0, threshold=16, keep_alpha=False
    )
    assert found and image.shape == (32, 32, 3)
    # The 40x20 drawing fills the height and the middle half of the width.
    assert image[16, 16].tolist() == list(RED)
    assert image[16, 1].tolist() == [255, 255, 255] and image[16, 30].tolist() == [255, 255, 255]
    assert image[1, 16].tolist() == list(RED) and image[30, 16].tolist() == list(RED)


def test_window_leaving_the_image_is_padded_with_the_background():
    image = np.full((20, 20, 4), (90, 140, 200, 255), np.uint8)
    image[5:15, :] = (*RED, 255)  # touches the left and right edges
    cropped, _ = crop_cartoons.crop_cartoon(image, size=40, margin=0.5, threshold=16, keep_alpha=False)
    assert cropped[0, 0].tolist() == [90, 140, 200] and cropped[20, 1].tolist() == [90, 140, 200]
    assert cropped[20, 20].tolist() == list(RED)


def test_crop_cartoon_keeps_transparency_when_asked():
    image, _ = crop_cartoons.crop_cartoon(_drawing((0, 0, 0, 0)), size=32, margin=0.1, threshold=16, keep_alpha=True)
    assert image.shape == (32, 32, 4)
    assert image[0, 0, 3] == 0 and image[16, 16, 3] == 255


def test_blank_image_is_kept_whole():
    blank = np.full((30, 50, 4), 255, np.uint8)
    image, found = crop_cartoons.crop_cartoon(blank, size=8, margin=0.05, threshold=16, keep_alpha=False)
    assert not found and image.shape == (8, 8, 3) and (image == 255).all()


def test_cli_copies_the_cartoon_set_csv_and_keeps_alpha(mixed_image_folder, run_cli, tmp_path):
    folder, good, _ = mixed_image_folder
    destination = tmp_path / "out"
    result = run_cli("crop_cartoons", folder, destination, "--size", "24", "--keep_alpha")
    assert result.returncode == 0, result.stderr
    assert (destination / "face_1.csv").read_bytes() == (folder / "face_1.csv").read_bytes()
    assert sorted(p.name for p in destination.rglob("*.csv")) == ["face_1.csv"]
    assert "Cartoon Set CSVs copied: 1" in result.stdout
    for name in good:
        assert Image.open((destination / name).with_suffix(".png")).mode == "RGBA"
    transparent = np.asarray(Image.open(destination / "transparent.png"))
    assert transparent[0, 0, 3] == 0 and transparent[12, 12, 3] == 255


def test_help_describes_every_flag(run_cli):
    result = run_cli("crop_cartoons", "--help")
    assert "python -m preprocessing.crop_cartoons SRC DST" in result.stdout
    for flag in FLAGS:
        assert flag in result.stdout
