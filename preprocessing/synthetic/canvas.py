"""The drawing canvas: anti-aliased OpenCV shapes on an image, hard-edged part labels beside it."""

from __future__ import annotations

import cv2
import numpy as np

from preprocessing.synthetic.colours import Colour

# Part labels drawn beside the image; the head mask is every label >= SKIN.
BACKGROUND, CLOTHES, SKIN, HAIR, DETAIL = range(5)
FRACTION_BITS = 4  # OpenCV fixed-point drawing: 1/16 px precision keeps small shapes smooth
_ONE = 1 << FRACTION_BITS


def line_width(size: int) -> int:
    """Outline width in pixels: about 4 px at Cartoon Set's 500 px, never below 1."""
    return max(1, round(size / 128))


def _fixed(value: float) -> int:
    return int(round(value * _ONE))


def fixed_points(points) -> np.ndarray:
    return np.rint(np.asarray(points, np.float64) * _ONE).astype(np.int32)


class Canvas:
    """An RGB image (or premultiplied RGBA on transparent black) and a part-label map.

    Every filled shape is anti-aliased on the image and hard-edged on `parts`,
    where it writes its part label (BACKGROUND, CLOTHES, SKIN, HAIR, DETAIL).
    Lines label nothing.
    """

    def __init__(self, image: np.ndarray):
        self.image = image
        self.parts = np.zeros(image.shape[:2], np.uint8)
        self.line_width = line_width(image.shape[0])
        self._alpha = (255,) if image.shape[2] == 4 else ()

    def _thickness(self, width: float) -> int:
        return max(1, int(width * self.line_width))  # rounding down keeps frames thin at 64 px

    def fill(self, points, colour: Colour, part: int, outline: Colour | None = None, opacity: float = 1.0) -> None:
        """Fill the polygon `points`, optionally outlined, optionally see-through."""
        polygon = [fixed_points(points)]
        target = self.image if opacity >= 1 else self.image.copy()
        cv2.fillPoly(target, polygon, colour + self._alpha, cv2.LINE_AA, FRACTION_BITS)
        if outline is not None:
            cv2.polylines(target, polygon, True, outline + self._alpha, self.line_width, cv2.LINE_AA, FRACTION_BITS)
        if opacity < 1:
            cv2.addWeighted(target, opacity, self.image, 1 - opacity, 0, dst=self.image)
        cv2.fillPoly(self.parts, polygon, part, cv2.LINE_8, FRACTION_BITS)

    def fill_ellipse(self, centre, axes, colour: Colour, part: int, outline: Colour | None = None) -> None:
        """Fill an axis-aligned ellipse, optionally outlined."""
        centre, axes = (_fixed(centre[0]), _fixed(centre[1])), (_fixed(axes[0]), _fixed(axes[1]))
        whole = (centre, axes, 0, 0, 360)
        cv2.ellipse(self.image, *whole, colour + self._alpha, -1, cv2.LINE_AA, FRACTION_BITS)
        if outline is not None:
            cv2.ellipse(self.image, *whole, outline + self._alpha, self.line_width, cv2.LINE_AA, FRACTION_BITS)
        cv2.ellipse(self.parts, *whole, part, -1, cv2.LINE_8, FRACTION_BITS)

    def stroke(self, points, colour: Colour, width: float = 1, closed: bool = False) -> None:
        """Draw a line through `points`, `width` outline widths wide."""
        cv2.polylines(
            self.image,
            [fixed_points(points)],
            closed,
            colour + self._alpha,
            self._thickness(width),
            cv2.LINE_AA,
            FRACTION_BITS,
        )

    def stroke_arc(self, centre, axes, start_deg: float, end_deg: float, colour: Colour, width: float = 1) -> None:
        """Draw an arc of an axis-aligned ellipse; angles as in OpenCV (y points down)."""
        cv2.ellipse(
            self.image,
            (_fixed(centre[0]), _fixed(centre[1])),
            (_fixed(axes[0]), _fixed(axes[1])),
            0,
            start_deg,
            end_deg,
            colour + self._alpha,
            self._thickness(width),
            cv2.LINE_AA,
            FRACTION_BITS,
        )

    def head_mask(self) -> np.ndarray:
        """HxW uint8: 255 on face, ears, neck, hair and what lies on them, else 0."""
        return np.where(self.parts >= SKIN, np.uint8(255), np.uint8(0))


def to_pixels(fraction_xy, size: int) -> np.ndarray:
    """Fractions of the image side (edges at 0 and 1) -> pixel-index coordinates."""
    return np.asarray(fraction_xy, np.float64) * size - 0.5
