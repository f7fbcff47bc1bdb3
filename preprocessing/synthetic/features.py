"""Shapes of the features on a face: eyebrows, mouth, facial hair, glasses, the photo's neck and shoulders."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from preprocessing.synthetic.colours import ROUND_FRAME, SQUARE_FRAME
from preprocessing.synthetic.geometry import Face, ellipse_points, superellipse_points, symmetric

# glasses -> (lens half width, lens half height in face units, lens squareness exponent,
#             frame colour, frame width in outline widths); variant 0 is "none"
GLASSES_STYLES = (
    None,
    (0.27, 0.27, 2.0, ROUND_FRAME, 1.0),
    (0.3, 0.21, 4.0, SQUARE_FRAME, 1.5),
    (0.32, 0.23, 3.0, SQUARE_FRAME, 1.0),
)
SUNGLASSES = 3

# eyebrow_thickness -> band thickness, in face units
EYEBROW_THICKNESS = (0.07, 0.16, 0.28)
ALONG = np.linspace(-1, 1, 9)  # positions along eyebrows and mouths, from the image-left end
ALONG_ROUNDNESS = np.sqrt(1 - ALONG**2)


@functools.lru_cache(maxsize=1024)
def eyebrows(face: Face, thickness: int) -> tuple[np.ndarray, np.ndarray]:
    """Arched bands above the eyes, thicker towards the nose; image-left first."""
    half_length, arch = 0.25 * face.unit, 0.05 * face.unit
    brows = []
    for side, (eye_x, eye_y) in zip((-1, 1), face.eyes):
        inner = (1 - side * ALONG) / 2
        band = EYEBROW_THICKNESS[thickness] * face.unit * (0.55 + 0.45 * inner)
        x = eye_x + ALONG * half_length
        middle = eye_y - 0.24 * face.half_height - arch * ALONG_ROUNDNESS**2
        top, bottom = np.stack([x, middle - band / 2], 1), np.stack([x, middle + band / 2], 1)
        brows.append(np.vstack([top, bottom[::-1]]))
    return tuple(brows)


@functools.lru_cache(maxsize=256)
def mouth_lines(face: Face) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre line, upper edge, lower edge) of the mouth opening, each [9, 2] left to right."""
    half_width, drop, up, down = face.mouth_shape
    x = face.mouth[0] + ALONG * half_width * face.unit
    centre_y = face.mouth[1] + drop * face.unit * (0.5 - ALONG**2)
    upper = centre_y - up * face.unit * ALONG_ROUNDNESS
    lower = centre_y + down * face.unit * ALONG_ROUNDNESS ** (1.2 if up else 0.6)
    return tuple(np.stack([x, y], 1) for y in (centre_y, upper, lower))


def has_opening(face: Face) -> bool:
    """Whether the mouth is open (grin, surprised) rather than a line."""
    _, _, up, down = face.mouth_shape
    return up + down > 0


def shows_teeth(face: Face) -> bool:
    """A grin (open below the corners only) shows the upper teeth."""
    _, _, up, down = face.mouth_shape
    return up == 0 and down > 0


@functools.lru_cache(maxsize=1024)
def facial_hair_shapes(face: Face, variant: int) -> tuple[np.ndarray, ...]:
    """The polygons of facial_hair `variant`: none, moustache, goatee, full beard."""
    return {0: (), 1: (moustache(face),), 2: (goatee(face),), 3: (full_beard(face), moustache(face))}[variant]


def moustache(face: Face) -> np.ndarray:
    """A band above the upper lip, drooping at the corners."""
    top = [(-0.44, 0.0), (-0.3, -0.13), (-0.1, -0.2), (0, -0.17), (0.1, -0.2), (0.3, -0.13), (0.44, 0.0)]
    bottom = [(0.3, -0.05), (0.1, -0.08), (0, -0.07), (-0.1, -0.08), (-0.3, -0.05)]
    return np.asarray(face.mouth) + np.array(top + bottom) * face.unit


def goatee(face: Face) -> np.ndarray:
    """A patch on the chin, below the lower lip."""
    centre = (face.mouth[0], face.mouth[1] + 0.3 * face.unit)
    return ellipse_points(centre, (0.24 * face.unit, 0.17 * face.unit), count=24)


def full_beard(face: Face) -> np.ndarray:
    """The jaw from ear to ear, a little outside the face and longer at the chin, lips left free."""
    lower_half = face.outline[: len(face.outline) // 2 + 1]  # from the right side over the chin
    offset = lower_half - np.asarray(face.centre)
    chin_weight = np.clip(offset[:, 1] / face.half_height, 0, 1) ** 4
    jaw = np.asarray(face.centre) + offset * 1.05 + np.outer(chin_weight, [0, 0.12 * face.half_height])
    around_mouth = (
        np.asarray(face.mouth)
        + np.array([(-0.46, -0.03), (-0.3, 0.15), (0, 0.18), (0.3, 0.15), (0.46, -0.03)]) * face.unit
    )
    return np.vstack(
        [
            jaw,
            face.in_units([(-0.93, 0.0), (-0.78, 0.36)]),
            around_mouth,
            face.in_units([(0.78, 0.36), (0.93, 0.0)]),
        ]
    )


@dataclass(frozen=True)
class GlassesShapes:
    """The outlines of glasses: lens rims (image-left first) and lines to stroke."""

    lenses: tuple[np.ndarray, np.ndarray]
    lines: tuple[np.ndarray, ...]  # the bridge and the two temples


@functools.lru_cache(maxsize=1024)
def glasses_shapes(face: Face, variant: int) -> GlassesShapes:
    """Glasses of `variant` (1-3, see GLASSES_STYLES) on `face`, the temples reaching the ears."""
    half_width, half_height, exponent, _, _ = GLASSES_STYLES[variant]
    half_width, half_height, u = half_width * face.unit, half_height * face.unit, face.unit
    lenses = tuple(superellipse_points((x, y + 0.02 * u), (half_width, half_height), exponent) for x, y in face.eyes)
    (left_x, y), (right_x, _) = face.eyes
    bridge = [(left_x + half_width, y - 0.02 * u), (face.centre[0], y - 0.07 * u), (right_x - half_width, y - 0.02 * u)]
    temples = [
        [(eye_x + side * half_width, y - 0.02 * u), (face.centre[0] + side * 0.97 * face.half_width, y)]
        for side, eye_x in ((-1, left_x), (1, right_x))
    ]
    return GlassesShapes(lenses, tuple(np.array(line) for line in (bridge, *temples)))


@functools.lru_cache(maxsize=256)
def photo_body_shapes(face: Face) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shoulders, neck, neckline) below `face`."""
    shoulders = symmetric(face, [(0.5, 1.38), (1.3, 1.6), (2.2, 1.85), (2.7, 2.3), (2.9, 3.2)])
    neckline = ellipse_points(face.at(0, 1.38), (0.46 * face.half_width, 0.24 * face.half_height), 0, 180, 9)
    neck = np.vstack(
        [face.in_units([(0.42, 0.5), (0.46, 1.38)]), neckline, face.in_units([(-0.46, 1.38), (-0.42, 0.5)])]
    )
    return shoulders, neck, neckline
