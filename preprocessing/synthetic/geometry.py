"""Face geometry: point shapes (ellipses, superellipses) and the layout of one face, in pixels.

Shapes are float [N, 2] arrays of (x, y) pixel-index coordinates (the centre of
pixel (row i, column j) is (j, i)). A face's geometry depends on the domain,
the size, face_shape and mouth_expression only, so faces are cached and so is every
shape derived from one: the arrays returned by cached functions are shared
and must not be modified.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

# face_shape -> (width factor, height factor, jaw squareness exponent, chin taper)
FACE_SHAPES = (
    (1.0, 1.0, 2.0, 0.0),
    (1.1, 0.9, 2.0, 0.0),
    (0.88, 1.1, 2.0, 0.05),
    (1.05, 0.98, 4.5, 0.0),
    (1.07, 1.02, 2.0, 0.22),
)
FACE_ASPECT = 1.3  # face half-height / half-width of the oval face
# mouth_expression -> (half width, centre drop below the corners, opening above, opening below)
MOUTH_SHAPES = (
    (0.27, 0.0, 0.0, 0.0),
    (0.36, 0.2, 0.0, 0.0),
    (0.34, 0.12, 0.0, 0.2),
    (0.13, 0.0, 0.11, 0.11),
)


@functools.lru_cache(maxsize=256)
def unit_arc(start_deg: float, end_deg: float, count: int) -> np.ndarray:
    """[count, 2] (cos, sin) along an arc."""
    closed = abs(end_deg - start_deg) >= 360
    t = np.deg2rad(np.linspace(start_deg, end_deg, count, endpoint=not closed))
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def ellipse_points(centre, axes, start_deg=0.0, end_deg=360.0, count=32) -> np.ndarray:
    """[count, 2] points on an axis-aligned ellipse; angles as in OpenCV (y points down)."""
    arc = unit_arc(start_deg, end_deg, count)
    return np.asarray(centre, np.float64) + np.asarray(axes, np.float64) * arc


def superellipse_points(centre, axes, exponent: float, count: int = 28) -> np.ndarray:
    """A rounded rectangle (|x/a|^n + |y/b|^n = 1) as [count, 2] points."""
    unit = unit_arc(0, 360, count)
    return np.asarray(centre) + np.asarray(axes) * np.sign(unit) * np.abs(unit) ** (2 / exponent)


def bumpy(points: np.ndarray, centre, bumps: int, depth: float) -> np.ndarray:
    """Push `points` in and out around `centre`: curly hair outlines."""
    offset = points - np.asarray(centre)
    angle = np.arctan2(offset[:, 1], offset[:, 0])
    return np.asarray(centre) + offset * (1 + depth * np.cos(bumps * angle))[:, None]


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: the key of cached geometry
class Face:
    """Where everything of one face goes, in pixels.

    `centre`, `half_width`, `half_height` describe the face ellipse (forehead to
    chin; the skull's top is its top). Features are placed in `unit`s (the half
    width of an oval face) so that face_shape changes the outline, not the features.
    """

    centre: tuple[float, float]
    unit: float
    half_width: float
    half_height: float
    outline: np.ndarray  # [N, 2] closed face contour, from the right over the chin
    eyes: tuple[tuple[float, float], tuple[float, float]]  # image-left eye first
    nose: tuple[float, float]  # tip
    mouth: tuple[float, float]  # middle of the mouth
    mouth_shape: tuple[float, float, float, float]  # see MOUTH_SHAPES

    def at(self, x: float, y: float) -> tuple[float, float]:
        """The point (x half-widths, y half-heights) from the face centre."""
        return (self.centre[0] + x * self.half_width, self.centre[1] + y * self.half_height)

    def in_units(self, points) -> np.ndarray:
        """[N, 2] points given in (x half-widths, y half-heights) from the face centre."""
        return np.asarray(self.centre) + np.asarray(points, np.float64) * (self.half_width, self.half_height)

    def mouth_corners(self) -> tuple[tuple[float, float], tuple[float, float]]:
        half_width, drop, _, _ = self.mouth_shape
        corner_y = self.mouth[1] - drop * self.unit / 2
        return ((self.mouth[0] - half_width * self.unit, corner_y), (self.mouth[0] + half_width * self.unit, corner_y))

    def landmarks(self) -> np.ndarray:
        """[5, 2] float32 in LANDMARK_NAMES order."""
        return np.array([*self.eyes, self.nose, *self.mouth_corners()], np.float32)


def face_outline(centre, half_width, half_height, squareness, taper, count=48) -> np.ndarray:
    """The face contour: an ellipse on top; below, a squarer jaw and/or a tapered chin."""
    c, s = unit_arc(0, 360, count).T
    exponent = np.where(s > 0, 2 / squareness, 1.0)
    x = np.sign(c) * np.abs(c) ** exponent
    y = np.sign(s) * np.abs(s) ** exponent
    x = x * (1 - taper * np.clip(y, 0, None) ** 2)
    return np.stack([centre[0] + half_width * x, centre[1] + half_height * y], axis=1)


def layout_face(attributes: dict[str, int], centre, unit: float) -> Face:
    """The face of `attributes` with its ellipse centred at `centre` (pixels)."""
    return _layout_face(
        attributes["face_shape"], attributes["mouth_expression"], float(centre[0]), float(centre[1]), float(unit)
    )


@functools.lru_cache(maxsize=256)
def _layout_face(face_shape: int, mouth_expression: int, centre_x: float, centre_y: float, unit: float) -> Face:
    width, height, squareness, taper = FACE_SHAPES[face_shape]
    half_width, half_height = unit * width, unit * FACE_ASPECT * height
    eye_y = centre_y + 0.03 * half_height
    return Face(
        centre=(centre_x, centre_y),
        unit=unit,
        half_width=half_width,
        half_height=half_height,
        outline=face_outline((centre_x, centre_y), half_width, half_height, squareness, taper),
        eyes=((centre_x - 0.4 * unit, eye_y), (centre_x + 0.4 * unit, eye_y)),
        nose=(centre_x, centre_y + 0.36 * half_height),
        mouth=(centre_x, centre_y + 0.64 * half_height),
        mouth_shape=MOUTH_SHAPES[mouth_expression],
    )


def symmetric(face: Face, right_side) -> np.ndarray:
    """`right_side` points (face units, going down or inwards) followed by their mirror
    image in reverse order: a path down the right side and back up the left one."""
    right = np.asarray(right_side, np.float64)
    return face.in_units(np.vstack([right, right[::-1] * (-1, 1)]))
