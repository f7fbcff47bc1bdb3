"""Procedural face domains: one attribute space drawn as a cartoon and as a photo.

usage:
  python -m preprocessing.synthetic --domain cartoon|photo --count N --out DIR [--size 128]
                                    [--seed 0] [--start_index 0]
  python -m preprocessing.synthetic --preview PATH [--seed 0] [--start_index 0]

No face data set can be downloaded everywhere, so the project renders its own.
Record `index` of seed `seed` is a person: attributes sampled from
`np.random.default_rng([seed, index])` (see `VARIANT_NAMES`). The same person is
drawn in two domains:

  cartoon  Cartoon-Set-like: flat colours, dark outlines, white background,
           centred, the head filling the middle ~60% of the image.
  photo    shaded and textured, with neck and shoulders, a cluttered background
           (gradients, stripes, shapes), varied lighting and colour cast, sensor
           noise and pose jitter (shift, scale, in-plane rotation).

so photo i and cartoon i form a paired test set. Every record also has 5
landmarks in CelebA order (x, y in pixel-index coordinates: the centre of pixel
(row i, column j) is (j, i)) and a head mask (face, ears, hair, neck, glasses).
Everything is a pure function of (seed, index, size); the photo's scene (pose,
light, background) does not depend on the size either, so a record rendered at
64 and at 128 px is the same picture.

Writing files (--out): DIR/<prefix><index>.png with prefix "cs" for cartoons
(plus a Cartoon-Set-format csNNN.csv of the attributes beside each) and no
prefix for photos (plus one DIR/annotations.csv of landmarks and attributes,
CelebA-like; rows already in it for other images are kept). Only files the tool
names itself are overwritten; nothing is deleted.

--preview PATH writes one PNG of 8 records: rows photo 64 px (shown 2x),
photo 128 px, cartoon 64 px (shown 2x), cartoon 128 px.
"""

from __future__ import annotations

import csv
import functools
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from absl import app, flags
from tqdm import tqdm

from preprocessing import cartoonset, image_io

if TYPE_CHECKING:
    import tensorflow as tf

# name -> the names of its variants, in value order. Variant 0 of glasses and
# facial_hair is "none". eye_color is hard to see under sunglasses (the lenses
# are tinted, not opaque) and hair_color of a bald person shows only in the
# eyebrows and facial hair.
VARIANT_NAMES: dict[str, tuple[str, ...]] = {
    "face_shape": ("oval", "round", "long", "square", "heart"),
    "skin_tone": ("pale", "light", "medium", "tan", "dark"),
    "hair_style": ("bald", "short", "spiky", "long", "bob", "afro", "puffs"),
    "hair_color": ("black", "brown", "blonde", "red", "grey"),
    "eye_color": ("brown", "blue", "green", "grey"),
    "glasses": ("none", "round", "square", "sunglasses"),
    "facial_hair": ("none", "moustache", "goatee", "beard"),
    "eyebrow_thickness": ("thin", "medium", "thick"),
    "mouth_expression": ("neutral", "smile", "grin", "surprised"),
}
ATTRIBUTE_VARIANTS: dict[str, int] = {name: len(names) for name, names in VARIANT_NAMES.items()}
DOMAINS = ("cartoon", "photo")
LANDMARK_NAMES = ("lefteye", "righteye", "nose", "leftmouth", "rightmouth")
FILE_PREFIX = {"cartoon": "cs", "photo": ""}
ANNOTATIONS_FILE = "annotations.csv"

# The two random streams of a record: its attributes (shared by the domains)
# and the photo's scene followed by its pixel noise.
_ATTRIBUTE_STREAM, _SCENE_STREAM = (), (1,)

# Colours are RGB tuples of ints (plain Python numbers, as OpenCV takes them).
SKIN_TONES = ((250, 222, 200), (234, 186, 148), (202, 144, 102), (152, 100, 68), (96, 62, 44))
HAIR_COLOURS = ((36, 31, 33), (128, 78, 40), (232, 196, 120), (200, 84, 38), (190, 190, 194))
EYE_COLOURS = ((100, 58, 28), (50, 125, 215), (60, 150, 70), (140, 150, 162))
OUTLINE = (46, 36, 36)
WHITE = (255, 255, 255)
SCLERA = (232, 226, 220)
PUPIL = (20, 16, 16)
MOUTH_INSIDE = (110, 28, 36)
TEETH = (245, 242, 235)
LENS = (26, 28, 36)
SUNGLASSES_OPACITY = 0.6  # tinted: the eye colour still shows through
ROUND_FRAME = (176, 128, 48)  # gold, so round and square frames differ in colour as well as shape
SQUARE_FRAME = (22, 22, 26)
# glasses -> (lens half width, lens half height in face units, lens squareness exponent,
#             frame colour, frame width in outline widths); variant 0 is "none"
GLASSES_STYLES = (
    None,
    (0.27, 0.27, 2.0, ROUND_FRAME, 1.0),
    (0.3, 0.21, 4.0, SQUARE_FRAME, 1.5),
    (0.32, 0.23, 3.0, SQUARE_FRAME, 1.0),
)
SUNGLASSES = 3

# face_shape -> (width factor, height factor, jaw squareness exponent, chin taper)
FACE_SHAPES = (
    (1.0, 1.0, 2.0, 0.0),
    (1.1, 0.9, 2.0, 0.0),
    (0.88, 1.1, 2.0, 0.05),
    (1.05, 0.98, 4.5, 0.0),
    (1.07, 1.02, 2.0, 0.22),
)
FACE_ASPECT = 1.3  # face half-height / half-width of the oval face
# eyebrow_thickness -> band thickness, in face units
EYEBROW_THICKNESS = (0.07, 0.16, 0.28)
# mouth_expression -> (half width, centre drop below the corners, opening above, opening below)
MOUTH_SHAPES = (
    (0.27, 0.0, 0.0, 0.0),
    (0.36, 0.2, 0.0, 0.0),
    (0.34, 0.12, 0.0, 0.2),
    (0.13, 0.0, 0.11, 0.11),
)

# Part labels drawn beside the image; the head mask is every label >= SKIN.
BACKGROUND, CLOTHES, SKIN, HAIR, DETAIL = range(5)
_FRACTION_BITS = 4  # OpenCV fixed-point drawing: 1/16 px precision keeps small shapes smooth
_ONE = 1 << _FRACTION_BITS

# Where the face ellipse sits (fractions of the image side) and its half width
# (fraction of the side) in each domain: the cartoon head fills the middle ~60%
# like the Cartoon Set; the photo is a smaller portrait with shoulders, like CelebA.
CARTOON_FACE_CENTRE, CARTOON_UNIT = (0.5, 0.52), 0.2
PHOTO_FACE_CENTRE, PHOTO_UNIT = (0.5, 0.47), 0.172


# --------------------------------------------------------------------------- attributes


def check_domain(domain: str) -> None:
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; expected one of {', '.join(DOMAINS)}")


def _record_rng(seed: int, index: int, stream: tuple[int, ...]) -> np.random.Generator:
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    return np.random.default_rng([seed, index, *stream])


def sample_attributes(seed: int, index: int) -> dict[str, int]:
    """The attributes of record `index` of `seed`: each variant equally likely."""
    rng = _record_rng(seed, index, _ATTRIBUTE_STREAM)
    values = rng.integers(0, list(ATTRIBUTE_VARIANTS.values()))
    return dict(zip(ATTRIBUTE_VARIANTS, values.tolist()))


def check_attributes(attributes: dict[str, int]) -> None:
    """Raise ValueError unless `attributes` gives every attribute a valid variant."""
    missing = [name for name in ATTRIBUTE_VARIANTS if name not in attributes]
    if missing:
        raise ValueError(f"missing attributes: {', '.join(missing)}")
    for name, variants in ATTRIBUTE_VARIANTS.items():
        if not 0 <= int(attributes[name]) < variants:
            raise ValueError(f"{name} = {attributes[name]} is outside [0, {variants})")


# --------------------------------------------------------------------------- geometry
#
# Shapes are float [N, 2] arrays of (x, y) pixel-index coordinates (the centre of
# pixel (row i, column j) is (j, i)). A face's geometry depends on the domain,
# the size, face_shape and mouth_expression only, so faces are cached and so is every
# shape derived from one: the arrays returned by cached functions are shared
# and must not be modified.


@functools.lru_cache(maxsize=256)
def _unit_arc(start_deg: float, end_deg: float, count: int) -> np.ndarray:
    """[count, 2] (cos, sin) along an arc."""
    closed = abs(end_deg - start_deg) >= 360
    t = np.deg2rad(np.linspace(start_deg, end_deg, count, endpoint=not closed))
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def ellipse_points(centre, axes, start_deg=0.0, end_deg=360.0, count=32) -> np.ndarray:
    """[count, 2] points on an axis-aligned ellipse; angles as in OpenCV (y points down)."""
    arc = _unit_arc(start_deg, end_deg, count)
    return np.asarray(centre, np.float64) + np.asarray(axes, np.float64) * arc


def superellipse_points(centre, axes, exponent: float, count: int = 28) -> np.ndarray:
    """A rounded rectangle (|x/a|^n + |y/b|^n = 1) as [count, 2] points."""
    unit = _unit_arc(0, 360, count)
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
    c, s = _unit_arc(0, 360, count).T
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


# --------------------------------------------------------------------------- hair

# A hairline swept to one side, from the right temple to the left one, in face units.
SWEPT_HAIRLINE = (
    (0.88, -0.05), (0.87, -0.28), (0.7, -0.38), (0.35, -0.44), (-0.05, -0.5),
    (-0.35, -0.57), (-0.47, -0.5), (-0.7, -0.4), (-0.87, -0.25), (-0.88, -0.05),
)  # fmt: skip
CURLY_HAIR_STYLES = (5, 6)  # afro, puffs: textured with curls instead of strands


@dataclass(frozen=True)
class HairShapes:
    """A hair style: `back` polygons go behind the head, `front` ones over the face.

    Back polygons are outlined whole. `front_edges` ((points, closed) pairs) are
    the visible edges of the front hair, outlined in the cartoon: a front polygon
    may reach under the back hair, where its edge must not show.
    """

    back: tuple[np.ndarray, ...] = ()
    front: tuple[np.ndarray, ...] = ()
    front_edges: tuple[tuple[np.ndarray, bool], ...] = ()


def skull_arc(face: Face, scale: float, start=190, end=350, count=21, lift=0.0) -> np.ndarray:
    """The top of the head, `scale` times the face ellipse, from left to right."""
    axes = (scale * face.half_width, scale * face.half_height)
    return ellipse_points(face.at(0, -lift), axes, start, end, count)


@functools.lru_cache(maxsize=1024)
def hair_shapes(face: Face, style: int) -> HairShapes:
    """The polygons of hair_style `style` (see VARIANT_NAMES) around `face`."""
    if style == 0:
        return HairShapes()
    if style in (1, 2):
        return short_hair(face, spiky=style == 2)
    return {3: long_hair, 4: bob_hair, 5: afro_hair, 6: puffs_hair}[style](face)


def short_hair(face: Face, spiky: bool) -> HairShapes:
    """A cap of short hair with sideburns, smooth or with spikes on the crown."""
    top = spiky_arc(face) if spiky else skull_arc(face, 1.07, 185, 355)
    cap = np.vstack(
        [face.in_units([(-1.0, 0.1)]), top, face.in_units([(1.0, 0.1), (0.9, 0.1), *SWEPT_HAIRLINE, (-0.9, 0.1)])]
    )
    return HairShapes(front=(cap,), front_edges=((cap, True),))


def spiky_arc(face: Face) -> np.ndarray:
    """The top of the head with spikes, tallest at the crown, from left to right."""
    arc = _unit_arc(185, 355, 21)
    tips = np.arange(len(arc)) % 2 == 1
    scale = 1.05 + np.where(tips, 0.3 * np.clip(-arc[:, 1], 0, None) ** 2, 0.0)
    return np.asarray(face.centre) + arc * scale[:, None] * (face.half_width, face.half_height)


def long_hair(face: Face) -> HairShapes:
    """Straight hair to the shoulders, parted in the middle; the locks leave the neck free."""
    locks = symmetric(
        face,
        [
            (1.2, -0.1),
            (1.24, 0.6),
            (1.28, 1.3),
            (1.1, 1.42),
            (0.95, 1.32),
            (0.82, 1.4),
            (0.7, 1.25),
            (0.6, 0.7),
            (0.3, 0.5),
        ],
    )
    back = np.vstack([skull_arc(face, 1.16, 180, 360, lift=0.03), locks])
    curtains = symmetric(
        face,
        [
            (1.17, 0.5),
            (1.2, 1.08),
            (0.95, 0.92),
            (0.86, 0.45),
            (0.83, -0.1),
            (0.6, -0.45),
            (0.25, -0.66),
            (0.04, -0.64),
        ],
    )
    front = np.vstack([skull_arc(face, 1.11, 170, 370, 25, lift=0.02), curtains])
    return HairShapes(back=(back,), front=(front,), front_edges=((front, True),))


def bob_hair(face: Face) -> HairShapes:
    """Chin-length hair with a blunt fringe."""
    sides = symmetric(face, [(1.22, -0.1), (1.28, 0.72), (1.12, 0.88), (0.6, 0.8)])
    back = np.vstack([skull_arc(face, 1.18, 180, 360, lift=0.03), sides])
    fringe = [(x, -0.36 + 0.03 * (i % 2)) for i, x in enumerate(np.linspace(0.84, 0.0, 6))]
    curtains = symmetric(face, [(1.24, 0.62), (1.14, 0.86), (0.94, 0.74), (0.86, 0.1), *fringe])
    front = np.vstack([skull_arc(face, 1.13, 170, 370, 25, lift=0.02), curtains])
    return HairShapes(back=(back,), front=(front,), front_edges=((front, True),))


def afro_hair(face: Face) -> HairShapes:
    """A big round curly volume around the head."""
    centre = face.at(0, -0.28)
    axes = (1.52 * face.half_width, 1.12 * face.half_height)
    outer = bumpy(ellipse_points(centre, axes, 0, 360, 64), centre, 16, 0.045)
    hairline = face.in_units(SWEPT_HAIRLINE)
    cap = np.vstack([skull_arc(face, 1.07), hairline])  # inside `outer`: only the hairline shows
    return HairShapes(back=(outer,), front=(cap,), front_edges=((hairline, False),))


def puffs_hair(face: Face) -> HairShapes:
    """Hair pulled back into two round puffs on top."""
    puffs = tuple(
        bumpy(ellipse_points(c, (0.5 * face.half_width,) * 2, 0, 360, 28), c, 9, 0.07)
        for c in (face.at(-0.92, -0.88), face.at(0.92, -0.88))
    )
    cap = np.vstack([skull_arc(face, 1.08), face.in_units(SWEPT_HAIRLINE)])
    return HairShapes(back=puffs, front=(cap,), front_edges=((cap, True),))


# --------------------------------------------------------------------------- features

_ALONG = np.linspace(-1, 1, 9)  # positions along eyebrows and mouths, from the image-left end
_ALONG_ROUNDNESS = np.sqrt(1 - _ALONG**2)


@functools.lru_cache(maxsize=1024)
def eyebrows(face: Face, thickness: int) -> tuple[np.ndarray, np.ndarray]:
    """Arched bands above the eyes, thicker towards the nose; image-left first."""
    half_length, arch = 0.25 * face.unit, 0.05 * face.unit
    brows = []
    for side, (eye_x, eye_y) in zip((-1, 1), face.eyes):
        inner = (1 - side * _ALONG) / 2
        band = EYEBROW_THICKNESS[thickness] * face.unit * (0.55 + 0.45 * inner)
        x = eye_x + _ALONG * half_length
        middle = eye_y - 0.24 * face.half_height - arch * _ALONG_ROUNDNESS**2
        top, bottom = np.stack([x, middle - band / 2], 1), np.stack([x, middle + band / 2], 1)
        brows.append(np.vstack([top, bottom[::-1]]))
    return tuple(brows)


@functools.lru_cache(maxsize=256)
def mouth_lines(face: Face) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre line, upper edge, lower edge) of the mouth opening, each [9, 2] left to right."""
    half_width, drop, up, down = face.mouth_shape
    x = face.mouth[0] + _ALONG * half_width * face.unit
    centre_y = face.mouth[1] + drop * face.unit * (0.5 - _ALONG**2)
    upper = centre_y - up * face.unit * _ALONG_ROUNDNESS
    lower = centre_y + down * face.unit * _ALONG_ROUNDNESS ** (1.2 if up else 0.6)
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


# --------------------------------------------------------------------------- drawing

Colour = tuple[int, int, int]


def darker(colour: Colour, factor: float) -> Colour:
    return tuple(min(255, int(c * factor + 0.5)) for c in colour)


def mix(colour: Colour, other: Colour, amount: float) -> Colour:
    return tuple(int(c * (1 - amount) + o * amount + 0.5) for c, o in zip(colour, other))


def luma(colour: Colour) -> float:
    red, green, blue = colour
    return 0.299 * red + 0.587 * green + 0.114 * blue


def standing_out(colour: Colour, against: Colour, contrast: float = 40.0) -> Colour:
    """`colour`, darkened if needed to differ from `against` by `contrast` in luma.

    Keeps eyebrows and beards visible where the hair colour is close to the
    skin tone (brown hair on dark skin), so the attributes stay recoverable.
    """
    if abs(luma(colour) - luma(against)) >= contrast:
        return colour
    return darker(colour, max(luma(against) - contrast, 0) / max(luma(colour), 1))


def line_width(size: int) -> int:
    """Outline width in pixels: about 4 px at Cartoon Set's 500 px, never below 1."""
    return max(1, round(size / 128))


def _fixed(value: float) -> int:
    return int(round(value * _ONE))


def _fixed_points(points) -> np.ndarray:
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
        polygon = [_fixed_points(points)]
        target = self.image if opacity >= 1 else self.image.copy()
        cv2.fillPoly(target, polygon, colour + self._alpha, cv2.LINE_AA, _FRACTION_BITS)
        if outline is not None:
            cv2.polylines(target, polygon, True, outline + self._alpha, self.line_width, cv2.LINE_AA, _FRACTION_BITS)
        if opacity < 1:
            cv2.addWeighted(target, opacity, self.image, 1 - opacity, 0, dst=self.image)
        cv2.fillPoly(self.parts, polygon, part, cv2.LINE_8, _FRACTION_BITS)

    def fill_ellipse(self, centre, axes, colour: Colour, part: int, outline: Colour | None = None) -> None:
        """Fill an axis-aligned ellipse, optionally outlined."""
        centre, axes = (_fixed(centre[0]), _fixed(centre[1])), (_fixed(axes[0]), _fixed(axes[1]))
        whole = (centre, axes, 0, 0, 360)
        cv2.ellipse(self.image, *whole, colour + self._alpha, -1, cv2.LINE_AA, _FRACTION_BITS)
        if outline is not None:
            cv2.ellipse(self.image, *whole, outline + self._alpha, self.line_width, cv2.LINE_AA, _FRACTION_BITS)
        cv2.ellipse(self.parts, *whole, part, -1, cv2.LINE_8, _FRACTION_BITS)

    def stroke(self, points, colour: Colour, width: float = 1, closed: bool = False) -> None:
        """Draw a line through `points`, `width` outline widths wide."""
        cv2.polylines(
            self.image,
            [_fixed_points(points)],
            closed,
            colour + self._alpha,
            self._thickness(width),
            cv2.LINE_AA,
            _FRACTION_BITS,
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
            _FRACTION_BITS,
        )

    def head_mask(self) -> np.ndarray:
        """HxW uint8: 255 on face, ears, neck, hair and what lies on them, else 0."""
        return np.where(self.parts >= SKIN, np.uint8(255), np.uint8(0))


@dataclass(frozen=True)
class HeadColours:
    skin: Colour
    hair: Colour
    facial_hair: Colour
    eyebrows: Colour
    iris: Colour
    lips: Colour


def head_colours(attributes: dict[str, int]) -> HeadColours:
    skin = SKIN_TONES[attributes["skin_tone"]]
    hair = HAIR_COLOURS[attributes["hair_color"]]
    return HeadColours(
        skin=skin,
        hair=hair,
        facial_hair=standing_out(hair, skin),
        eyebrows=standing_out(darker(hair, 0.8), skin),
        iris=EYE_COLOURS[attributes["eye_color"]],
        lips=darker(mix(skin, (200, 80, 90), 0.35), 0.9),
    )


def shifted(point, dx: float, dy: float) -> tuple[float, float]:
    return (point[0] + dx, point[1] + dy)


class CartoonFeatures:
    """Cartoon Set look: outlines, big white eyes, a line for the nose and mouth."""

    outline = OUTLINE

    def body(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        """The Cartoon Set draws heads only."""

    def eye(self, canvas: Canvas, face: Face, centre, colours: HeadColours) -> None:
        u = face.unit
        sclera = (0.22 * u, 0.15 * u)
        canvas.fill_ellipse(centre, sclera, WHITE, DETAIL, self.outline)
        canvas.fill_ellipse(centre, (0.13 * u, 0.13 * u), colours.iris, DETAIL)
        canvas.fill_ellipse(centre, (0.065 * u, 0.065 * u), PUPIL, DETAIL)
        canvas.fill_ellipse(shifted(centre, -0.04 * u, -0.04 * u), (0.03 * u, 0.03 * u), WHITE, DETAIL)
        canvas.stroke_arc(centre, sclera, 190, 350, self.outline)  # a heavier upper lid

    def nose(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        centre = shifted(face.nose, 0, -0.05 * face.unit)
        canvas.stroke_arc(centre, (0.1 * face.unit, 0.06 * face.unit), 10, 170, darker(colours.skin, 0.55))

    def mouth(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        middle, upper, lower = mouth_lines(face)
        if not has_opening(face):
            canvas.stroke(middle, darker(MOUTH_INSIDE, 0.7))
            return
        opening = np.vstack([upper, lower[::-1]])
        canvas.fill(opening, MOUTH_INSIDE, DETAIL)
        if shows_teeth(face):
            teeth = np.vstack([upper, (upper + 0.3 * (lower - upper))[::-1]])
            canvas.fill(teeth, TEETH, DETAIL)
        canvas.stroke(opening, self.outline, closed=True)


class PhotoFeatures:
    """Photo look: no outlines, neck and shoulders, smaller eyes, lips, nostrils.

    Shading, texture and blur are added afterwards over the whole drawing.
    """

    outline = None

    def __init__(self, clothes_colour: Colour):
        self.clothes_colour = clothes_colour

    def body(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        shoulders, neck, neckline = photo_body_shapes(face)
        canvas.fill(shoulders, self.clothes_colour, CLOTHES)
        canvas.fill(neck, darker(colours.skin, 0.9), SKIN)
        canvas.stroke(neckline, darker(self.clothes_colour, 0.7), width=1.5)
        # The face is drawn over it: only the part below the chin shows, as the chin's shadow.
        chin_shadow_axes = (0.5 * face.half_width, 0.3 * face.half_height)
        canvas.fill_ellipse(face.at(0, 0.92), chin_shadow_axes, darker(colours.skin, 0.68), SKIN)

    def eye(self, canvas: Canvas, face: Face, centre, colours: HeadColours) -> None:
        u = face.unit
        socket = darker(colours.skin, 0.88)
        canvas.fill_ellipse(shifted(centre, 0, -0.02 * u), (0.3 * u, 0.17 * u), socket, SKIN)
        canvas.fill_ellipse(centre, (0.2 * u, 0.11 * u), SCLERA, DETAIL)
        canvas.fill_ellipse(centre, (0.11 * u, 0.11 * u), colours.iris, DETAIL)
        canvas.fill_ellipse(centre, (0.045 * u, 0.045 * u), PUPIL, DETAIL)
        canvas.fill_ellipse(shifted(centre, -0.03 * u, -0.03 * u), (0.022 * u, 0.022 * u), WHITE, DETAIL)
        canvas.stroke_arc(centre, (0.21 * u, 0.12 * u), 185, 355, darker(colours.skin, 0.3))

    def nose(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        u = face.unit
        bridge = darker(colours.skin, 0.92)
        canvas.fill_ellipse(shifted(face.nose, 0, -0.16 * u), (0.07 * u, 0.22 * u), bridge, SKIN)
        canvas.fill_ellipse(face.nose, (0.13 * u, 0.075 * u), darker(colours.skin, 0.9), SKIN)
        for side in (-1, 1):
            nostril = shifted(face.nose, side * 0.07 * u, 0.03 * u)
            canvas.fill_ellipse(nostril, (0.045 * u, 0.028 * u), darker(colours.skin, 0.5), SKIN)

    def mouth(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        middle, upper, lower = mouth_lines(face)
        lip_top = upper - np.outer(_ALONG_ROUNDNESS, (0, 0.07 * face.unit))
        lip_bottom = lower + np.outer(_ALONG_ROUNDNESS, (0, 0.09 * face.unit))
        canvas.fill(np.vstack([lip_top, middle[::-1]]), darker(colours.lips, 0.9), DETAIL)
        canvas.fill(np.vstack([middle, lip_bottom[::-1]]), colours.lips, DETAIL)
        if not has_opening(face):
            canvas.stroke(middle, darker(colours.lips, 0.45))
            return
        canvas.fill(np.vstack([upper, lower[::-1]]), darker(MOUTH_INSIDE, 0.6), DETAIL)
        if shows_teeth(face):
            teeth = np.vstack([upper, (upper + 0.3 * (lower - upper))[::-1]])
            canvas.fill(teeth, darker(TEETH, 0.92), DETAIL)


def draw_ears(canvas: Canvas, face: Face, skin: Colour, outline: Colour | None) -> None:
    inner_axes = (0.08 * face.unit, 0.15 * face.unit)
    for side, (start, end) in ((-1, (100, 280)), (1, (-100, 100))):  # the inner fold faces the head
        centre = face.at(side * 0.97, 0.12)
        canvas.fill_ellipse(centre, (0.17 * face.unit, 0.26 * face.unit), skin, SKIN, outline)
        canvas.stroke_arc(centre, inner_axes, start, end, darker(skin, 0.7))


def draw_glasses(canvas: Canvas, face: Face, variant: int) -> None:
    """Round gold frames, square black frames or tinted sunglasses over the eyes."""
    if variant == 0:
        return
    _, _, _, frame, width = GLASSES_STYLES[variant]
    shapes = glasses_shapes(face, variant)
    for lens in shapes.lenses:
        if variant == SUNGLASSES:
            canvas.fill(lens, LENS, DETAIL, opacity=SUNGLASSES_OPACITY)
        canvas.stroke(lens, frame, width, closed=True)
    for line in shapes.lines:
        canvas.stroke(line, frame, width)


def draw_head(
    canvas: Canvas, face: Face, attributes: dict[str, int], features: CartoonFeatures | PhotoFeatures
) -> None:
    """Draw the person of `attributes` back to front; `features` is the domain's look."""
    colours = head_colours(attributes)
    hair = hair_shapes(face, attributes["hair_style"])
    for polygon in hair.back:
        canvas.fill(polygon, colours.hair, HAIR, features.outline)
    features.body(canvas, face, colours)
    draw_ears(canvas, face, colours.skin, features.outline)
    canvas.fill(face.outline, colours.skin, SKIN, features.outline)
    features.nose(canvas, face, colours)
    for polygon in facial_hair_shapes(face, attributes["facial_hair"]):
        canvas.fill(polygon, colours.facial_hair, HAIR, features.outline)
    features.mouth(canvas, face, colours)
    for eye in face.eyes:
        features.eye(canvas, face, eye, colours)
    for brow in eyebrows(face, attributes["eyebrow_thickness"]):
        canvas.fill(brow, colours.eyebrows, DETAIL)
    draw_glasses(canvas, face, attributes["glasses"])
    for polygon in hair.front:
        canvas.fill(polygon, colours.hair, HAIR)
    if features.outline is not None:
        for edge, closed in hair.front_edges:
            canvas.stroke(edge, features.outline, closed=closed)


def to_pixels(fraction_xy, size: int) -> np.ndarray:
    """Fractions of the image side (edges at 0 and 1) -> pixel-index coordinates."""
    return np.asarray(fraction_xy, np.float64) * size - 0.5


# --------------------------------------------------------------------------- cartoon domain


def render_cartoon(attributes: dict[str, int], size: int) -> dict:
    face = layout_face(attributes, to_pixels(CARTOON_FACE_CENTRE, size), CARTOON_UNIT * size)
    canvas = Canvas(np.full((size, size, 3), 255, np.uint8))
    draw_head(canvas, face, attributes, CartoonFeatures())
    return {"image": canvas.image, "landmarks": face.landmarks(), "mask": canvas.head_mask()}


# --------------------------------------------------------------------------- photo domain


@dataclass(frozen=True)
class Pose:
    rotation_deg: float  # counter-clockwise on screen, about the face centre
    scale: float
    shift: tuple[float, float]  # (x, y), fractions of the image side


@dataclass(frozen=True)
class Lighting:
    direction: tuple[float, float, float]  # unit vector towards the light; z points at the viewer
    ambient: float
    gain: float


@dataclass(frozen=True)
class Stripes:
    angle: float  # radians
    period: float  # fraction of the image side
    phase: float
    colour: np.ndarray
    strength: float
    hard_edged: bool


@dataclass(frozen=True)
class Background:
    colours: np.ndarray  # [2, 3] ends of a linear gradient
    gradient_angle: float
    stripes: Stripes | None
    light_spot: tuple[float, float, float, float] | None  # (x, y, radius, strength)
    shapes: tuple[tuple[np.ndarray, np.ndarray], ...]  # (polygon in fractions of the side, colour)
    blur: float  # Gaussian sigma, fraction of the image side (depth of field)


@dataclass(frozen=True)
class Camera:
    colour_cast: np.ndarray  # per-channel gain
    contrast: float
    vignette: float
    noise: float  # sensor noise standard deviation, in levels


@dataclass(frozen=True)
class PhotoScene:
    """Everything random about a photo except its pixel noise; it does not depend on size."""

    pose: Pose
    lighting: Lighting
    clothes_colour: Colour
    skin_blotches: np.ndarray  # low-resolution noise fields, upsampled to the image
    hair_strands: np.ndarray
    hair_curls: np.ndarray
    background: Background
    camera: Camera


# name -> (low, high): the numbers of a photo scene, each drawn uniformly.
SCENE_RANGES = {
    "rotation_deg": (-12.0, 12.0), "scale": (0.9, 1.1), "shift_x": (-0.06, 0.06), "shift_y": (-0.06, 0.06),
    "light_azimuth": (0.0, 2 * math.pi), "light_elevation": (0.35, 1.1), "ambient": (0.4, 0.6),
    "gain": (1.05, 1.25), "cast_red": (0.93, 1.07), "cast_green": (0.93, 1.07), "cast_blue": (0.93, 1.07),
    "contrast": (0.85, 1.1), "vignette": (0.0, 0.3), "noise": (1.0, 4.0),
    "gradient_angle": (0.0, 2 * math.pi), "background_blur": (0.0, 0.025),
    "has_stripes": (0.0, 1.0), "stripes_angle": (0.0, math.pi), "stripes_period": (0.04, 0.25),
    "stripes_phase": (0.0, 2 * math.pi), "stripes_strength": (0.25, 0.8), "stripes_hard": (0.0, 1.0),
    "has_light_spot": (0.0, 1.0), "spot_x": (0.0, 1.0), "spot_y": (0.0, 1.0), "spot_radius": (0.15, 0.5),
    "spot_strength": (0.2, 0.6),
}  # fmt: skip
_SCENE_LOW, _SCENE_HIGH = np.array(list(SCENE_RANGES.values())).T
STRIPES_PROBABILITY, LIGHT_SPOT_PROBABILITY, MAX_BACKGROUND_SHAPES = 0.45, 0.4, 7
# Background shapes at unit size, to be scaled, rotated and placed.
_SHAPE_TEMPLATES = (
    ellipse_points((0, 0), (1, 1), count=20),
    np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)], np.float64),
    np.array([(0, -1), (0.87, 0.5), (-0.87, 0.5)], np.float64),
)


def random_colours(uniform: np.ndarray) -> np.ndarray:
    """[N, 3] float32 colours as found in photos, mostly muted, sometimes vivid, from [N, 5]
    uniform numbers in [0, 1): a vivid colour, the grey it is mixed with and how much."""
    vivid = 15 + 225 * uniform[:, :3]
    grey = 30 + 195 * uniform[:, 3:4]
    amount = 0.2 + 0.65 * uniform[:, 4:5]
    return (vivid * (1 - amount) + grey * amount).astype(np.float32)


def background_shapes(uniform: np.ndarray, colours: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Ellipses, rectangles and triangles from [N, 6] uniform numbers: kind, centre, radii, turn."""
    shapes = []
    for (kind, centre_x, centre_y, radius_x, radius_y, turn), colour in zip(uniform.tolist(), colours):
        template = _SHAPE_TEMPLATES[int(kind * len(_SHAPE_TEMPLATES))]
        turn *= math.pi
        rotation = np.array([[math.cos(turn), math.sin(turn)], [-math.sin(turn), math.cos(turn)]])
        radii = (0.04 + 0.26 * radius_x, 0.04 + 0.26 * radius_y)
        centre = (-0.1 + 1.2 * centre_x, -0.1 + 1.2 * centre_y)  # may hang over the edges
        shapes.append(((template * radii) @ rotation + centre, colour))
    return tuple(shapes)


def sample_scene(rng: np.random.Generator) -> PhotoScene:
    """Draw a photo's pose, light, clothes, textures, background and camera from `rng`."""
    # .tolist(): plain floats, which do not turn float32 image arithmetic into float64.
    numbers = _SCENE_LOW + rng.random(len(SCENE_RANGES)) * (_SCENE_HIGH - _SCENE_LOW)
    draw = dict(zip(SCENE_RANGES, numbers.tolist()))
    shape_count = int(rng.integers(0, MAX_BACKGROUND_SHAPES + 1))
    colours = random_colours(rng.random((4 + shape_count, 5)))  # clothes, gradient ends, stripes, shapes
    azimuth, elevation = draw["light_azimuth"], draw["light_elevation"]
    towards_light = (
        math.cos(azimuth) * math.cos(elevation),
        math.sin(azimuth) * math.cos(elevation),
        math.sin(elevation),
    )
    stripes = Stripes(
        draw["stripes_angle"],
        draw["stripes_period"],
        draw["stripes_phase"],
        colours[3],
        draw["stripes_strength"],
        hard_edged=draw["stripes_hard"] < 0.5,
    )
    spot = (draw["spot_x"], draw["spot_y"], draw["spot_radius"], draw["spot_strength"])
    background = Background(
        colours=colours[1:3],
        gradient_angle=draw["gradient_angle"],
        stripes=stripes if draw["has_stripes"] < STRIPES_PROBABILITY else None,
        light_spot=spot if draw["has_light_spot"] < LIGHT_SPOT_PROBABILITY else None,
        shapes=background_shapes(rng.random((shape_count, 6)), colours[4:]),
        blur=draw["background_blur"],
    )
    return PhotoScene(
        pose=Pose(draw["rotation_deg"], draw["scale"], (draw["shift_x"], draw["shift_y"])),
        lighting=Lighting(towards_light, draw["ambient"], draw["gain"]),
        clothes_colour=tuple(np.rint(colours[0]).astype(int).tolist()),
        skin_blotches=rng.standard_normal((6, 6), np.float32),
        hair_strands=rng.standard_normal((5, 40), np.float32),
        hair_curls=rng.standard_normal((20, 20), np.float32),
        background=background,
        camera=Camera(
            colour_cast=np.array([draw["cast_red"], draw["cast_green"], draw["cast_blue"]], np.float32),
            contrast=draw["contrast"],
            vignette=draw["vignette"],
            noise=draw["noise"],
        ),
    )


@functools.lru_cache(maxsize=8)
def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) float32 pixel-index coordinates of every pixel (cached: do not modify)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs, ys


@functools.lru_cache(maxsize=8)
def distance_from_centre_squared(size: int) -> np.ndarray:
    """HxW float32: squared distance to the image centre; 1 at the middle of each side."""
    xs, ys = pixel_grid(size)
    centre = (size - 1) / 2
    return ((xs - centre) ** 2 + (ys - centre) ** 2) / max(centre, 0.5) ** 2


@functools.lru_cache(maxsize=256)
def head_normals(face: Face, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HxW float32 (x, y, z) normals of a sphere around the head; outside it, those of its rim."""
    xs, ys = pixel_grid(size)
    dx = (xs - face.centre[0]) * (1 / (1.15 * face.half_width))
    dy = (ys - (face.centre[1] - 0.1 * face.half_height)) * (1 / (1.2 * face.half_height))
    inverse_radius = 1 / np.maximum(np.sqrt(dx * dx + dy * dy), np.float32(1))
    dx, dy = dx * inverse_radius, dy * inverse_radius
    return dx, dy, np.sqrt(np.maximum(1 - dx * dx - dy * dy, np.float32(0)))


def upsampled(noise: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)


def shading(face: Face, parts: np.ndarray, lighting: Lighting) -> tuple[np.ndarray, np.ndarray]:
    """(HxW brightness factor, HxW added shine in [0, 1]) of light on a sphere around the head.

    Clothes get a weaker version of the same light.
    """
    dx, dy, dz = head_normals(face, parts.shape[0])
    lx, ly, lz = lighting.direction
    lambert = np.clip(lx * dx + ly * dy + lz * dz, 0, 1)
    # Surfaces turning away from the camera catch less light and more occlusion.
    shade = (lighting.ambient + (1 - lighting.ambient) * lambert) * (0.7 + 0.3 * dz)
    shade = np.where(parts == CLOTHES, 1 - 0.4 * (1 - shade), shade) * lighting.gain
    # Blinn-Phong shine on the skin, the camera looking along z.
    norm = math.sqrt(lx * lx + ly * ly + (lz + 1) ** 2)
    facing = np.clip((lx * dx + ly * dy + (lz + 1) * dz) * (1 / norm), 0, 1)
    shine = np.where(parts == SKIN, 0.18 * facing**24, np.float32(0))
    return shade, shine


def texture(parts: np.ndarray, scene: PhotoScene, curly_hair: bool) -> np.ndarray:
    """HxW brightness factor: blotchy skin, strands or curls in the hair."""
    size = parts.shape[0]
    hair = scene.hair_curls if curly_hair else scene.hair_strands
    factor = np.where(parts == SKIN, 1 + 0.04 * upsampled(scene.skin_blotches, size), np.float32(1))
    return np.where(parts == HAIR, 1 + 0.16 * np.clip(upsampled(hair, size), -2, 2), factor)


def per_channel(field: np.ndarray) -> np.ndarray:
    """HxW -> HxWx3 copies; NumPy broadcasts a trailing axis of 1 or 3 slowly, OpenCV does not."""
    return cv2.cvtColor(field, cv2.COLOR_GRAY2RGB)


def scalar(colour) -> tuple[float, float, float, float]:
    """An RGB colour as the per-channel constant OpenCV arithmetic takes."""
    return (*(float(c) for c in colour), 0.0)


def render_background(background: Background, size: int) -> np.ndarray:
    """HxWx3 float32: gradient, stripes, a light spot, then shapes, then defocus."""
    xs, ys = pixel_grid(size)
    xs, ys = xs * np.float32(1 / size), ys * np.float32(1 / size)
    step_x, step_y = math.cos(background.gradient_angle), math.sin(background.gradient_angle)
    extent = abs(step_x) + abs(step_y)  # so that `along` runs from 0 to 1 corner to corner
    along = (xs - 0.5) * (step_x / extent) + (ys - 0.5) * (step_y / extent) + 0.5
    first, second = background.colours
    image = cv2.add(cv2.multiply(per_channel(along), scalar(second - first)), scalar(first))
    if background.stripes is not None:
        stripes = background.stripes
        frequency = 2 * math.pi / stripes.period
        wave = np.sin(
            xs * (math.cos(stripes.angle) * frequency) + ys * (math.sin(stripes.angle) * frequency) + stripes.phase
        )
        profile = (wave > 0).astype(np.float32) if stripes.hard_edged else 0.5 + 0.5 * wave
        weight = per_channel(stripes.strength * profile)
        image = image * (1 - weight) + cv2.multiply(weight, scalar(stripes.colour))
    if background.light_spot is not None:
        spot_x, spot_y, radius, strength = (float(v) for v in background.light_spot)
        glow = per_channel(strength * np.exp(((xs - spot_x) ** 2 + (ys - spot_y) ** 2) * (-1 / radius**2)))
        image = image + glow * (255 - image)
    for polygon, colour in background.shapes:
        cv2.fillPoly(image, [_fixed_points(to_pixels(polygon, size))], scalar(colour), cv2.LINE_AA, _FRACTION_BITS)
    if background.blur * size > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), background.blur * size)
    return image


def pose_matrix(pose: Pose, centre: np.ndarray, size: int) -> np.ndarray:
    """2x3 affine map from the upright drawing to the photo."""
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), pose.rotation_deg, pose.scale)
    matrix[:, 2] += np.multiply(pose.shift, size)
    return matrix


def apply_camera(image: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """Colour cast, contrast, vignette and sensor noise (drawn from `rng`) -> HxWx3 uint8."""
    size = image.shape[0]
    falloff = 1 - float(camera.vignette / 2) * distance_from_centre_squared(size)
    image = cv2.multiply(image * per_channel(falloff), scalar(camera.colour_cast * camera.contrast))
    # Uniform luminance noise from raw bytes: as good as Gaussian to the eye, several times cheaper.
    noise = np.frombuffer(rng.bytes(size * size), np.uint8).reshape(size, size)
    noise_scale = camera.noise / 73.9  # 73.9: the standard deviation of uniform bytes
    level_shift = 128 * (1 - camera.contrast) - 127.5 * noise_scale + 0.5  # + 0.5: round, not truncate
    image = image + per_channel(noise.astype(np.float32) * np.float32(noise_scale) + np.float32(level_shift))
    return np.clip(image, 0, 255).astype(np.uint8)


def lit_person(canvas: Canvas, face: Face, scene: PhotoScene, curly_hair: bool) -> tuple[np.ndarray, np.ndarray]:
    """The shaded, textured, softened drawing: (HxWx3 colour premultiplied by coverage,
    HxW coverage in [0, 1])."""
    shade, shine = shading(face, canvas.parts, scene.lighting)
    shade *= texture(canvas.parts, scene, curly_hair)
    colour = cv2.cvtColor(canvas.image, cv2.COLOR_RGBA2RGB).astype(np.float32)
    colour = colour * per_channel(shade) + per_channel(255 * shine)
    coverage = cv2.extractChannel(canvas.image, 3).astype(np.float32) * np.float32(1 / 255)
    # Soften the drawing's crisp edges: photos are never that sharp.
    sigma = 0.35 * canvas.image.shape[0] / 64
    return cv2.GaussianBlur(colour, (0, 0), sigma), cv2.GaussianBlur(coverage, (0, 0), sigma)


def render_photo(attributes: dict[str, int], size: int, rng: np.random.Generator) -> dict:
    """The photo of `attributes`; draws its scene from `rng` first, then the pixel noise."""
    scene = sample_scene(rng)
    face = layout_face(attributes, to_pixels(PHOTO_FACE_CENTRE, size), PHOTO_UNIT * size)
    canvas = Canvas(np.zeros((size, size, 4), np.uint8))
    draw_head(canvas, face, attributes, PhotoFeatures(scene.clothes_colour))
    colour, coverage = lit_person(canvas, face, scene, attributes["hair_style"] in CURLY_HAIR_STYLES)

    matrix = pose_matrix(scene.pose, face.centre, size)
    # Replicating the border continues the shoulders below the frame when the pose lifts them.
    colour, coverage = (
        cv2.warpAffine(layer, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for layer in (colour, coverage)
    )
    mask = cv2.warpAffine(canvas.head_mask(), matrix, (size, size), flags=cv2.INTER_LINEAR)
    image = colour + render_background(scene.background, size) * per_channel(1 - coverage)
    landmarks = face.landmarks() @ matrix[:, :2].T + matrix[:, 2]
    return {
        "image": apply_camera(image, scene.camera, rng),
        "landmarks": landmarks.astype(np.float32),
        "mask": np.where(mask >= 128, 255, 0).astype(np.uint8),
    }


# --------------------------------------------------------------------------- records


def render(domain: str, attributes: dict[str, int], size: int = 64, seed: int = 0, index: int = 0) -> dict:
    """Draw the person of `attributes` in `domain` at `size` x `size`.

    The photo's scene and pixel noise come from (seed, index); the cartoon uses
    neither. Returns {"image": uint8 [size, size, 3], "attributes": dict,
    "landmarks": float32 [5, 2] (x, y), "mask": uint8 [size, size]}. Raises
    ValueError for an unknown domain, invalid attributes or size < 1.
    """
    check_domain(domain)
    check_attributes(attributes)
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    attributes = {name: int(attributes[name]) for name in ATTRIBUTE_VARIANTS}
    if domain == "cartoon":
        record = render_cartoon(attributes, size)
    else:
        record = render_photo(attributes, size, _record_rng(seed, index, _SCENE_STREAM))
    return {"attributes": attributes, **record}


def make_record(domain: str, seed: int, index: int, size: int = 64) -> dict:
    """Record `index` of `seed` in `domain`; the same person in every domain and size."""
    return render(domain, sample_attributes(seed, index), size, seed, index)


# --------------------------------------------------------------------------- tf.data


def as_dataset(domain: str, size: int = 64, seed: int = 0, count: int | None = None) -> tf.data.Dataset:
    """Records 0, 1, 2, ... of `seed` rendered on the fly: endless, or the first `count`.

    Elements: {"image": uint8 [size, size, 3], "attributes": {name: int32 scalar},
    "landmarks": float32 [5, 2], "mask": uint8 [size, size, 1]}; the order is
    deterministic even though records are rendered in parallel.
    """
    import tensorflow as tf  # here, not at the top: rendering and the CLI start faster without it

    check_domain(domain)
    if count is not None and count < 0:
        raise ValueError(f"count must be >= 0 or None, got {count}")
    names = tuple(ATTRIBUTE_VARIANTS)

    def render_index(index: np.int64):
        record = make_record(domain, seed, int(index), size)
        attributes = np.array([record["attributes"][name] for name in names], np.int32)
        return record["image"], attributes, record["landmarks"], record["mask"][..., None]

    def to_element(index: tf.Tensor) -> dict:
        image, attributes, landmarks, mask = tf.numpy_function(
            render_index, [index], [tf.uint8, tf.int32, tf.float32, tf.uint8], stateful=False
        )
        attributes = tf.ensure_shape(attributes, [len(names)])
        return {
            "image": tf.ensure_shape(image, [size, size, 3]),
            "attributes": {name: attributes[i] for i, name in enumerate(names)},
            "landmarks": tf.ensure_shape(landmarks, [len(LANDMARK_NAMES), 2]),
            "mask": tf.ensure_shape(mask, [size, size, 1]),
        }

    # counter() is the endless range 0, 1, 2, ... (with infinite cardinality).
    indices = tf.data.Dataset.counter() if count is None else tf.data.Dataset.range(count)
    return indices.map(to_element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


# --------------------------------------------------------------------------- files


def file_stem(domain: str, index: int) -> str:
    return f"{FILE_PREFIX[domain]}{index:06d}"


def annotation_header() -> list[str]:
    coordinates = [f"{name}_{axis}" for name in LANDMARK_NAMES for axis in "xy"]
    return ["image_id", *coordinates, *ATTRIBUTE_VARIANTS]


def annotation_row(image_id: str, record: dict) -> list[str]:
    coordinates = [f"{value:.1f}" for value in record["landmarks"].reshape(-1)]
    return [image_id, *coordinates, *(str(record["attributes"][name]) for name in ATTRIBUTE_VARIANTS)]


def read_annotations(path: Path) -> dict[str, list[str]]:
    """{image_id: row} of an existing annotations table; {} when there is none.

    Raises ValueError for a file with another header, which must not be merged into.
    """
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if rows and rows[0] != annotation_header():
        raise ValueError(f"{path}: exists with another header; move it away or choose another --out")
    return {row[0]: row for row in rows[1:] if row}


def write_annotations(path: Path, rows: dict[str, list[str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(annotation_header())
        writer.writerows(rows[image_id] for image_id in sorted(rows))


def write_records(domain: str, count: int, out: Path, size: int, seed: int, start_index: int) -> list[Path]:
    """Write records start_index .. start_index + count - 1 to `out`; returns the PNG paths.

    Cartoons get a Cartoon Set CSV each; photos get their rows in `out`/annotations.csv,
    where rows of other images already there are kept.
    """
    check_domain(domain)
    annotations_path = out / ANNOTATIONS_FILE
    annotations = read_annotations(annotations_path) if domain == "photo" else {}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    indices = range(start_index, start_index + count)
    for index in tqdm(indices, desc=f"synthetic {domain}", unit="image", file=sys.stderr):
        record = make_record(domain, seed, index, size)
        path = out / f"{file_stem(domain, index)}.png"
        image_io.write_png(record["image"], path)
        written.append(path)
        if domain == "cartoon":
            cartoonset.write_attribute_file(cartoonset.csv_path_for(path), record["attributes"], ATTRIBUTE_VARIANTS)
        else:
            annotations[path.name] = annotation_row(path.name, record)
    if domain == "photo":
        write_annotations(annotations_path, annotations)
    return written


PREVIEW_ROWS = (("photo", 64), ("photo", 128), ("cartoon", 64), ("cartoon", 128))
PREVIEW_COUNT = 8
PREVIEW_CELL = 128
PREVIEW_LABEL_WIDTH = 120


def preview_image(seed: int = 0, start_index: int = 0) -> np.ndarray:
    """One picture of PREVIEW_COUNT records, one row per (domain, size) of PREVIEW_ROWS.

    64 px images are shown enlarged 2x with nearest-neighbour, so their pixels stay visible.
    """
    rows = []
    for domain, size in PREVIEW_ROWS:
        label = np.full((PREVIEW_CELL, PREVIEW_LABEL_WIDTH, 3), 255, np.uint8)
        for line, text in enumerate((domain, f"{size} px")):
            cv2.putText(label, text, (8, 58 + 24 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (40, 40, 40), 1, cv2.LINE_AA)
        cells = [label]
        for index in range(start_index, start_index + PREVIEW_COUNT):
            image = make_record(domain, seed, index, size)["image"]
            repeat = PREVIEW_CELL // size
            cells.append(np.repeat(np.repeat(image, repeat, axis=0), repeat, axis=1))
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)


# --------------------------------------------------------------------------- CLI


def define_flags() -> None:
    flags.DEFINE_enum("domain", None, list(DOMAINS), "Which look to render: cartoon or photo.")
    flags.DEFINE_integer("count", None, "How many records to write.", lower_bound=1)
    flags.DEFINE_string("out", None, "Folder to write the PNGs (and CSVs) into; created if missing.")
    flags.DEFINE_integer("size", 128, "Side of the square images, in pixels.", lower_bound=1)
    flags.DEFINE_integer("seed", 0, "Seed of the record sequence: the same seed gives the same people.", lower_bound=0)
    flags.DEFINE_integer(
        "start_index", 0, "Index of the first record (to extend a set in several runs).", lower_bound=0
    )
    flags.DEFINE_string(
        "preview",
        None,
        "Instead of writing records, write one PNG comparing the two domains at 64 and 128 px to this path.",
    )


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    options = flags.FLAGS
    if options.preview:
        image_io.write_png(preview_image(options.seed, options.start_index), options.preview)
        print(
            f"wrote the preview of records {options.start_index}-{options.start_index + PREVIEW_COUNT - 1} "
            f"to {options.preview}"
        )
        return
    missing = [f"--{name}" for name in ("domain", "count", "out") if options[name].value is None]
    if missing:
        raise app.UsageError(f"missing {', '.join(missing)} (or use --preview PATH)")
    out = Path(options.out)
    try:
        written = write_records(options.domain, options.count, out, options.size, options.seed, options.start_index)
    except ValueError as error:
        raise app.UsageError(str(error)) from error
    extra = "Cartoon Set CSVs beside them" if options.domain == "cartoon" else ANNOTATIONS_FILE
    print(
        f"wrote {len(written)} {options.domain} faces ({options.size}x{options.size}, seed {options.seed}) "
        f"to {out}: {written[0].name} .. {written[-1].name} + {extra}"
    )


if __name__ == "__main__":
    # Flags are defined here, not on import: sources.py and the training CLIs import this module.
    define_flags()
    app.run(main)
