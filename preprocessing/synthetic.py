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

import cv2
import numpy as np
from absl import app, flags
from tqdm import tqdm

from preprocessing import cartoonset, image_io

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

# Colours are RGB tuples (plain Python numbers: faces are drawn with ~40 of them).
SKIN_TONES = ((250, 222, 200), (234, 186, 148), (202, 144, 102), (152, 100, 68), (96, 62, 44))
HAIR_COLOURS = ((36, 31, 33), (110, 68, 38), (232, 196, 120), (200, 84, 38), (190, 190, 194))
EYE_COLOURS = ((100, 58, 28), (50, 125, 215), (60, 150, 70), (140, 150, 162))
OUTLINE = (46, 36, 36)
WHITE = (255, 255, 255)
SCLERA = (232, 226, 220)
PUPIL = (20, 16, 16)
MOUTH_INSIDE = (110, 28, 36)
TEETH = (245, 242, 235)
LENS = (26, 28, 36)
SUNGLASSES_OPACITY = 0.8
ROUND_FRAME = (176, 128, 48)  # gold, so round and square frames differ in colour as well as shape
SQUARE_FRAME = (22, 22, 26)

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
EYEBROW_THICKNESS = (0.08, 0.15, 0.25)
# mouth_expression -> (half width, centre drop below the corners, opening above, opening below)
MOUTH_SHAPES = (
    (0.28, 0.02, 0.0, 0.0),
    (0.34, 0.12, 0.0, 0.0),
    (0.34, 0.09, 0.0, 0.2),
    (0.13, 0.0, 0.11, 0.11),
)

# Part labels drawn beside the image; the head mask is every label >= SKIN.
BACKGROUND, CLOTHES, SKIN, HAIR, DETAIL = range(5)
_FRACTION_BITS = 4  # OpenCV fixed-point drawing: 1/16 px precision keeps small shapes smooth


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


@functools.lru_cache(maxsize=256)
def _unit_arc(start_deg: float, end_deg: float, count: int) -> np.ndarray:
    """[count, 2] (cos, sin) along an arc; cached because faces reuse a few dozen arcs."""
    closed = abs(end_deg - start_deg) >= 360
    t = np.deg2rad(np.linspace(start_deg, end_deg, count, endpoint=not closed))
    arc = np.stack([np.cos(t), np.sin(t)], axis=1)
    arc.flags.writeable = False
    return arc


def ellipse_points(centre, axes, start_deg=0.0, end_deg=360.0, count=32) -> np.ndarray:
    """[count, 2] points on an axis-aligned ellipse; angles as in OpenCV (y points down)."""
    return np.asarray(centre, np.float64) + np.asarray(axes, np.float64) * _unit_arc(start_deg, end_deg, count)


def superellipse_points(centre, axes, exponent, count=28) -> np.ndarray:
    """A rounded rectangle (|x/a|^n + |y/b|^n = 1) as [count, 2] points."""
    t = np.linspace(0, 2 * np.pi, count, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = np.sign(c) * np.abs(c) ** (2 / exponent)
    y = np.sign(s) * np.abs(s) ** (2 / exponent)
    return np.stack([centre[0] + axes[0] * x, centre[1] + axes[1] * y], axis=1)


def bumpy(points: np.ndarray, centre, bumps: int, depth: float) -> np.ndarray:
    """Push `points` in and out around `centre`: curly hair outlines."""
    offset = points - np.asarray(centre)
    angle = np.arctan2(offset[:, 1], offset[:, 0])
    return np.asarray(centre) + offset * (1 + depth * np.cos(bumps * angle))[:, None]


@dataclass(frozen=True)
class Face:
    """Where everything of one face goes, in pixels.

    `centre`, `half_width`, `half_height` describe the face ellipse (forehead to
    chin; the skull's top is its top). Features are placed in `unit`s (the half
    width of an oval face) so that face_shape changes the outline, not the features.
    """

    centre: np.ndarray
    unit: float
    half_width: float
    half_height: float
    outline: np.ndarray  # [N, 2] closed face contour
    eyes: np.ndarray  # [2, 2] image-left eye first
    nose: np.ndarray  # tip
    mouth: np.ndarray  # centre of the mouth's centre line at rest
    mouth_shape: tuple[float, float, float, float]

    def at(self, x: float, y: float) -> np.ndarray:
        """The point (x half-widths, y half-heights) from the face centre."""
        return self.centre + np.array([x * self.half_width, y * self.half_height])

    def mouth_corners(self) -> np.ndarray:
        half_width, drop, _, _ = self.mouth_shape
        corner_y = self.mouth[1] - drop * self.unit / 2
        return np.array([[self.mouth[0] - half_width * self.unit, corner_y],
                         [self.mouth[0] + half_width * self.unit, corner_y]])  # fmt: skip

    def landmarks(self) -> np.ndarray:
        """[5, 2] float32 in LANDMARK_NAMES order."""
        return np.vstack([self.eyes, self.nose, self.mouth_corners()]).astype(np.float32)


def face_outline(centre, half_width, half_height, squareness, taper, count=48) -> np.ndarray:
    """The face contour: an ellipse on top; below, a squarer jaw and/or a tapered chin."""
    t = np.linspace(0, 2 * np.pi, count, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    exponent = np.where(s > 0, 2 / squareness, 1.0)
    x = np.sign(c) * np.abs(c) ** exponent
    y = np.sign(s) * np.abs(s) ** exponent
    x = x * (1 - taper * np.clip(y, 0, None) ** 2)
    return np.stack([centre[0] + half_width * x, centre[1] + half_height * y], axis=1)


def layout_face(attributes: dict[str, int], centre, unit: float) -> Face:
    """Place the face of `attributes` with its ellipse centred at `centre` (pixels)."""
    centre = np.asarray(centre, np.float64)
    width, height, squareness, taper = FACE_SHAPES[attributes["face_shape"]]
    half_width, half_height = unit * width, unit * FACE_ASPECT * height
    eye_y = centre[1] + 0.03 * half_height
    eyes = np.array([[centre[0] - 0.4 * unit, eye_y], [centre[0] + 0.4 * unit, eye_y]])
    return Face(
        centre=centre,
        unit=unit,
        half_width=half_width,
        half_height=half_height,
        outline=face_outline(centre, half_width, half_height, squareness, taper),
        eyes=eyes,
        nose=np.array([centre[0], centre[1] + 0.36 * half_height]),
        mouth=np.array([centre[0], centre[1] + 0.64 * half_height]),
        mouth_shape=MOUTH_SHAPES[attributes["mouth_expression"]],
    )


def in_face_units(face: Face, points) -> np.ndarray:
    """(x half-widths, y half-heights) from the face centre -> pixels."""
    return face.centre + np.asarray(points, np.float64) * [face.half_width, face.half_height]


# A hairline swept to one side, from the right temple to the left one, in face units.
SWEPT_HAIRLINE = (
    (0.88, -0.05), (0.87, -0.28), (0.7, -0.38), (0.35, -0.44), (-0.05, -0.5),
    (-0.35, -0.57), (-0.47, -0.5), (-0.7, -0.4), (-0.87, -0.25), (-0.88, -0.05),
)  # fmt: skip


def skull_arc(face: Face, scale: float, start=190, end=350, count=21, lift=0.0) -> np.ndarray:
    """The top of the head, `scale` times the face ellipse, from left to right."""
    axes = (scale * face.half_width, scale * face.half_height)
    return ellipse_points(face.at(0, -lift), axes, start, end, count)


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


CURLY_HAIR_STYLES = (5, 6)  # afro, puffs: textured with curls instead of strands


def hair_shapes(face: Face, style: int) -> HairShapes:
    """The polygons of hair_style `style` (see VARIANT_NAMES) around `face`."""
    if style == 0:
        return HairShapes()
    if style in (1, 2):
        top = spiky_arc(face) if style == 2 else skull_arc(face, 1.07, 185, 355)
        cap = np.vstack([in_face_units(face, [(-1.0, 0.1)]), top,
                         in_face_units(face, [(1.0, 0.1), (0.9, 0.1), *SWEPT_HAIRLINE, (-0.9, 0.1)])])  # fmt: skip
        return HairShapes(front=(cap,), front_edges=((cap, True),))
    return (long_hair, bob_hair, afro_hair, puffs_hair)[style - 3](face)


def spiky_arc(face: Face) -> np.ndarray:
    """The top of the head with spikes, tallest at the crown, from left to right."""
    radians = np.deg2rad(np.linspace(185, 355, 21))
    tips = np.arange(radians.size) % 2 == 1
    scale = 1.05 + np.where(tips, 0.3 * np.clip(-np.sin(radians), 0, None) ** 2, 0.0)
    x = face.centre[0] + scale * face.half_width * np.cos(radians)
    y = face.centre[1] + scale * face.half_height * np.sin(radians)
    return np.stack([x, y], axis=1)


def symmetric(face: Face, right_side) -> np.ndarray:
    """`right_side` points (face units, going down/inwards) followed by their mirror image
    in reverse order: a path down the right side and back up the left one."""
    right = np.asarray(right_side, np.float64)
    left = right[::-1] * [-1, 1]
    return in_face_units(face, np.vstack([right, left]))


def long_hair(face: Face) -> HairShapes:
    """Straight hair to the shoulders, parted in the middle; the locks leave the neck free."""
    locks = symmetric(face, [(1.2, -0.1), (1.24, 0.6), (1.28, 1.3), (1.1, 1.42), (0.95, 1.32),
                             (0.82, 1.4), (0.7, 1.25), (0.6, 0.7), (0.3, 0.5)])  # fmt: skip
    back = np.vstack([skull_arc(face, 1.16, 180, 360, lift=0.03), locks])
    curtains = symmetric(face, [(1.17, 0.5), (1.2, 1.08), (0.95, 0.92), (0.86, 0.45), (0.83, -0.1),
                                (0.6, -0.45), (0.25, -0.66), (0.04, -0.64)])  # fmt: skip
    front = np.vstack([skull_arc(face, 1.11, 170, 370, 25, lift=0.02), curtains])
    return HairShapes(back=(back,), front=(front,), front_edges=((front, True),))


def bob_hair(face: Face) -> HairShapes:
    """Chin-length hair with a blunt fringe."""
    sides = symmetric(face, [(1.22, -0.1), (1.28, 0.72), (1.12, 0.88), (0.6, 0.8)])
    back = np.vstack([skull_arc(face, 1.18, 180, 360, lift=0.03), sides])
    fringe_x = np.linspace(0.84, 0.0, 6)
    fringe = np.stack([fringe_x, -0.36 + 0.03 * (np.arange(6) % 2)], 1)
    curtains = symmetric(face, [(1.24, 0.62), (1.14, 0.86), (0.94, 0.74), (0.86, 0.1), *fringe])
    front = np.vstack([skull_arc(face, 1.13, 170, 370, 25, lift=0.02), curtains])
    return HairShapes(back=(back,), front=(front,), front_edges=((front, True),))


def afro_hair(face: Face) -> HairShapes:
    """A big round curly volume around the head."""
    centre = face.at(0, -0.28)
    axes = (1.52 * face.half_width, 1.12 * face.half_height)
    outer = bumpy(ellipse_points(centre, axes, 0, 360, 64), centre, 16, 0.045)
    hairline = in_face_units(face, SWEPT_HAIRLINE)
    cap = np.vstack([skull_arc(face, 1.07), hairline])  # inside `outer`: only the hairline shows
    return HairShapes(back=(outer,), front=(cap,), front_edges=((hairline, False),))


def puffs_hair(face: Face) -> HairShapes:
    """Hair pulled back into two round puffs on top."""
    puffs = tuple(
        bumpy(ellipse_points(c, (0.5 * face.half_width,) * 2, 0, 360, 28), c, 9, 0.07)
        for c in (face.at(-0.92, -0.88), face.at(0.92, -0.88))
    )
    cap = np.vstack([skull_arc(face, 1.08), in_face_units(face, SWEPT_HAIRLINE)])
    return HairShapes(back=puffs, front=(cap,), front_edges=((cap, True),))


_ALONG = np.linspace(-1, 1, 9)  # positions along eyebrows and mouths, from the image-left end
_ALONG_ROUNDNESS = np.sqrt(1 - _ALONG**2)


def eyebrow(face: Face, eye: np.ndarray, side: int, thickness: float) -> np.ndarray:
    """An arched band above `eye`, thicker towards the nose; side -1 = image-left eye."""
    s = _ALONG
    half_length, arch = 0.25 * face.unit, 0.05 * face.unit
    inner = (1 - side * s) / 2
    band = thickness * face.unit * (0.55 + 0.45 * inner)
    x = eye[0] + s * half_length
    middle = eye[1] - 0.24 * face.half_height - arch * (1 - s**2)
    return np.vstack([np.stack([x, middle - band / 2], 1), np.stack([x, middle + band / 2], 1)[::-1]])


def mouth_lines(face: Face) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre line, upper edge, lower edge) of the mouth opening, each [9, 2] left to right."""
    half_width, drop, up, down = face.mouth_shape
    s, roundness = _ALONG, _ALONG_ROUNDNESS
    x = face.mouth[0] + s * half_width * face.unit
    centre_y = face.mouth[1] + drop * face.unit * (0.5 - s**2)
    upper = centre_y - up * face.unit * roundness
    lower = centre_y + down * face.unit * roundness ** (1.2 if up else 0.6)
    return tuple(np.stack([x, y], 1) for y in (centre_y, upper, lower))


def has_opening(face: Face) -> bool:
    """Whether the mouth is open (grin, surprised) rather than a line."""
    _, _, up, down = face.mouth_shape
    return up + down > 0


def moustache(face: Face) -> np.ndarray:
    top = [(-0.44, 0.0), (-0.3, -0.13), (-0.1, -0.2), (0, -0.17), (0.1, -0.2), (0.3, -0.13), (0.44, 0.0)]
    bottom = [(0.3, -0.05), (0.1, -0.08), (0, -0.07), (-0.1, -0.08), (-0.3, -0.05)]
    return face.mouth + np.array(top + bottom) * face.unit


def goatee(face: Face) -> np.ndarray:
    centre = face.mouth + np.array([0, 0.3]) * face.unit
    return ellipse_points(centre, (0.24 * face.unit, 0.17 * face.unit), 0, 360, 24)


def full_beard(face: Face) -> np.ndarray:
    """The jaw from ear to ear, a little outside the face and longer at the chin, lips left free."""
    lower_half = face.outline[: len(face.outline) // 2 + 1]  # from the right side over the chin
    offset = lower_half - face.centre
    chin_weight = np.clip(offset[:, 1] / face.half_height, 0, 1) ** 4
    jaw = face.centre + offset * 1.05 + np.outer(chin_weight, [0, 0.12 * face.half_height])
    around_mouth = face.mouth + np.array(
        [(-0.46, -0.03), (-0.3, 0.15), (0, 0.18), (0.3, 0.15), (0.46, -0.03)]
    ) * face.unit
    return np.vstack([
        jaw, in_face_units(face, [(-0.93, 0.0), (-0.78, 0.36)]), around_mouth,
        in_face_units(face, [(0.78, 0.36), (0.93, 0.0)]),
    ])  # fmt: skip


# --------------------------------------------------------------------------- drawing


def _fixed_point(points) -> np.ndarray:
    return np.rint(np.asarray(points, np.float64) * (1 << _FRACTION_BITS)).astype(np.int32)


def line_width(size: int) -> int:
    """Outline width in pixels: about 4 px at Cartoon Set's 500 px, never below 1."""
    return max(1, round(size / 128))


class Canvas:
    """An RGB image (or premultiplied RGBA on transparent black) and a part-label map.

    Every shape is anti-aliased on the image and hard-edged on `parts`, where
    it writes its part label (BACKGROUND, CLOTHES, SKIN, HAIR, DETAIL).
    """

    def __init__(self, image: np.ndarray):
        self.image = image
        self.parts = np.zeros(image.shape[:2], np.uint8)
        self.line_width = line_width(image.shape[0])

    def _colour(self, rgb) -> tuple[int, ...]:
        colour = tuple(min(255, max(0, int(c + 0.5))) for c in rgb)
        return colour + (255,) if self.image.shape[2] == 4 else colour

    def fill(self, points, colour, part: int, outline=None, opacity: float = 1.0) -> None:
        """Fill the polygon `points`, optionally outlined, optionally see-through."""
        polygon = [_fixed_point(points)]
        target = self.image if opacity >= 1 else self.image.copy()
        cv2.fillPoly(target, polygon, self._colour(colour), cv2.LINE_AA, _FRACTION_BITS)
        if outline is not None:
            cv2.polylines(target, polygon, True, self._colour(outline), self.line_width,
                          cv2.LINE_AA, _FRACTION_BITS)  # fmt: skip
        if opacity < 1:
            cv2.addWeighted(target, opacity, self.image, 1 - opacity, 0, dst=self.image)
        cv2.fillPoly(self.parts, polygon, part, cv2.LINE_8, _FRACTION_BITS)

    def stroke(self, points, colour, width: float = 1, closed: bool = False) -> None:
        """Draw a line through `points`, `width` outline widths wide; labels nothing."""
        thickness = max(1, int(width * self.line_width))  # rounding down keeps 64 px frames thin
        cv2.polylines(self.image, [_fixed_point(points)], closed, self._colour(colour), thickness,
                      cv2.LINE_AA, _FRACTION_BITS)  # fmt: skip

    def head_mask(self) -> np.ndarray:
        """HxW uint8: 255 on face, ears, neck, hair and what lies on them, else 0."""
        return np.where(self.parts >= SKIN, 255, 0).astype(np.uint8)


Colour = tuple[float, float, float]


def darker(colour: Colour, factor: float) -> Colour:
    return tuple(c * factor for c in colour)


def mix(colour: Colour, other: Colour, amount: float) -> Colour:
    return tuple(c * (1 - amount) + o * amount for c, o in zip(colour, other))


@dataclass(frozen=True)
class HeadColours:
    skin: Colour
    hair: Colour
    eyebrows: Colour
    iris: Colour
    lips: Colour


def head_colours(attributes: dict[str, int]) -> HeadColours:
    skin = SKIN_TONES[attributes["skin_tone"]]
    hair = HAIR_COLOURS[attributes["hair_color"]]
    return HeadColours(
        skin=skin,
        hair=hair,
        eyebrows=darker(hair, 0.8),
        iris=EYE_COLOURS[attributes["eye_color"]],
        lips=darker(mix(skin, (200, 80, 90), 0.35), 0.9),
    )


class CartoonFeatures:
    """Cartoon Set look: outlines, big white eyes, a line for the nose and mouth."""

    outline = OUTLINE

    def body(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        """The Cartoon Set draws heads only."""

    def eye(self, canvas: Canvas, face: Face, centre: np.ndarray, colours: HeadColours) -> None:
        u = face.unit
        sclera_axes = (0.22 * u, 0.15 * u)
        canvas.fill(ellipse_points(centre, sclera_axes, count=24), WHITE, DETAIL, self.outline)
        canvas.fill(ellipse_points(centre, (0.13 * u,) * 2, count=16), colours.iris, DETAIL)
        canvas.fill(ellipse_points(centre, (0.065 * u,) * 2, count=12), PUPIL, DETAIL)
        canvas.fill(ellipse_points(centre - 0.04 * u, (0.03 * u,) * 2, count=8), WHITE, DETAIL)
        canvas.stroke(ellipse_points(centre, sclera_axes, 190, 350, 9), self.outline)  # a heavier upper lid

    def nose(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        centre = face.nose - [0, 0.05 * face.unit]
        canvas.stroke(ellipse_points(centre, (0.1 * face.unit, 0.06 * face.unit), 10, 170, 9),
                      darker(colours.skin, 0.55))  # fmt: skip

    def mouth(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        middle, upper, lower = mouth_lines(face)
        if has_opening(face):
            canvas.fill(np.vstack([upper, lower[::-1]]), MOUTH_INSIDE, DETAIL)
            if face.mouth_shape[2] == 0:  # a grin shows the upper teeth
                canvas.fill(np.vstack([upper, (upper + 0.3 * (lower - upper))[::-1]]), TEETH, DETAIL)
            canvas.stroke(np.vstack([upper, lower[::-1]]), self.outline, closed=True)
        else:
            canvas.stroke(middle, darker(MOUTH_INSIDE, 0.7))


class PhotoFeatures:
    """Photo look: no outlines, neck and shoulders, smaller eyes, lips, nostrils.

    Shading, texture and blur are added afterwards over the whole drawing.
    """

    outline = None

    def __init__(self, clothes_colour: Colour):
        self.clothes_colour = clothes_colour

    def body(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        shoulders = symmetric(face, [(0.5, 1.38), (1.3, 1.6), (2.2, 1.85), (2.7, 2.3), (2.9, 3.2)])
        canvas.fill(shoulders, self.clothes_colour, CLOTHES)
        neckline = ellipse_points(face.at(0, 1.38), (0.46 * face.half_width, 0.24 * face.half_height), 0, 180, 9)
        neck = np.vstack([in_face_units(face, [(0.42, 0.5), (0.46, 1.38)]), neckline,
                          in_face_units(face, [(-0.46, 1.38), (-0.42, 0.5)])])  # fmt: skip
        canvas.fill(neck, darker(colours.skin, 0.9), SKIN)
        canvas.stroke(neckline, darker(self.clothes_colour, 0.7), width=1.5)
        chin_shadow = ellipse_points(face.at(0, 0.92), (0.5 * face.half_width, 0.3 * face.half_height), count=16)
        canvas.fill(chin_shadow, darker(colours.skin, 0.68), SKIN)

    def eye(self, canvas: Canvas, face: Face, centre: np.ndarray, colours: HeadColours) -> None:
        u = face.unit
        canvas.fill(ellipse_points(centre - [0, 0.02 * u], (0.3 * u, 0.17 * u), count=20),
                    darker(colours.skin, 0.88), SKIN)  # fmt: skip
        canvas.fill(ellipse_points(centre, (0.19 * u, 0.1 * u), count=20), SCLERA, DETAIL)
        canvas.fill(ellipse_points(centre, (0.095 * u,) * 2, count=14), colours.iris, DETAIL)
        canvas.fill(ellipse_points(centre, (0.045 * u,) * 2, count=10), PUPIL, DETAIL)
        canvas.fill(ellipse_points(centre - 0.03 * u, (0.022 * u,) * 2, count=8), WHITE, DETAIL)
        canvas.stroke(ellipse_points(centre, (0.2 * u, 0.11 * u), 185, 355, 9), darker(colours.skin, 0.3))

    def nose(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        u = face.unit
        canvas.fill(ellipse_points(face.nose - [0, 0.16 * u], (0.07 * u, 0.22 * u), count=14),
                    darker(colours.skin, 0.92), SKIN)  # fmt: skip
        canvas.fill(ellipse_points(face.nose, (0.13 * u, 0.075 * u), count=14), darker(colours.skin, 0.9), SKIN)
        for side in (-1, 1):
            nostril = face.nose + [side * 0.07 * u, 0.03 * u]
            canvas.fill(ellipse_points(nostril, (0.045 * u, 0.028 * u), count=10), darker(colours.skin, 0.5), SKIN)

    def mouth(self, canvas: Canvas, face: Face, colours: HeadColours) -> None:
        middle, upper, lower = mouth_lines(face)
        roundness = _ALONG_ROUNDNESS[:, None]
        lip_top = upper - [0, 1] * roundness * 0.07 * face.unit
        lip_bottom = lower + [0, 1] * roundness * 0.09 * face.unit
        canvas.fill(np.vstack([lip_top, middle[::-1]]), darker(colours.lips, 0.9), DETAIL)
        canvas.fill(np.vstack([middle, lip_bottom[::-1]]), colours.lips, DETAIL)
        if has_opening(face):
            canvas.fill(np.vstack([upper, lower[::-1]]), darker(MOUTH_INSIDE, 0.6), DETAIL)
            if face.mouth_shape[2] == 0:
                canvas.fill(np.vstack([upper, (upper + 0.3 * (lower - upper))[::-1]]), darker(TEETH, 0.92), DETAIL)
        else:
            canvas.stroke(middle, darker(colours.lips, 0.45))


def draw_ears(canvas: Canvas, face: Face, skin: Colour, outline) -> None:
    for side in (-1, 1):
        centre = face.at(side * 0.97, 0.12)
        canvas.fill(ellipse_points(centre, (0.17 * face.unit, 0.26 * face.unit), count=20), skin, SKIN, outline)
        inner = ellipse_points(centre, (0.08 * face.unit, 0.15 * face.unit), -100 if side > 0 else 100,
                               100 if side > 0 else 280, 9)  # fmt: skip
        canvas.stroke(inner, darker(skin, 0.7))


def draw_facial_hair(canvas: Canvas, face: Face, variant: int, colour: Colour, outline) -> None:
    shapes = {0: (), 1: (moustache,), 2: (goatee,), 3: (full_beard, moustache)}[variant]
    for shape in shapes:
        canvas.fill(shape(face), colour, HAIR, outline)


def draw_eyebrows(canvas: Canvas, face: Face, thickness: int, colour: Colour) -> None:
    for side, eye in zip((-1, 1), face.eyes):
        canvas.fill(eyebrow(face, eye, side, EYEBROW_THICKNESS[thickness]), colour, DETAIL)


def draw_glasses(canvas: Canvas, face: Face, variant: int) -> None:
    """Round gold frames, square black frames or tinted sunglasses over the eyes."""
    if variant == 0:
        return
    u = face.unit
    half_width, half_height, exponent, frame, width = {
        1: (0.27 * u, 0.27 * u, 2.0, ROUND_FRAME, 1.0),
        2: (0.3 * u, 0.21 * u, 4.0, SQUARE_FRAME, 2.0),
        3: (0.32 * u, 0.23 * u, 3.0, SQUARE_FRAME, 1.0),
    }[variant]
    for eye in face.eyes:
        lens = superellipse_points(eye + [0, 0.02 * u], (half_width, half_height), exponent)
        if variant == 3:
            canvas.fill(lens, LENS, DETAIL, opacity=SUNGLASSES_OPACITY)
        canvas.stroke(lens, frame, width, closed=True)
    (left_x, y), (right_x, _) = face.eyes
    bridge = [(left_x + half_width, y - 0.02 * u), (face.centre[0], y - 0.07 * u), (right_x - half_width, y - 0.02 * u)]
    canvas.stroke(bridge, frame, width)
    for side, eye_x in ((-1, left_x), (1, right_x)):
        temple = [(eye_x + side * half_width, y - 0.02 * u), (face.centre[0] + side * 0.97 * face.half_width, y)]
        canvas.stroke(temple, frame, width)


def draw_head(canvas: Canvas, face: Face, attributes: dict[str, int], features) -> None:
    """Draw the person of `attributes` back to front; `features` is the domain's look."""
    colours = head_colours(attributes)
    hair = hair_shapes(face, attributes["hair_style"])
    for polygon in hair.back:
        canvas.fill(polygon, colours.hair, HAIR, features.outline)
    features.body(canvas, face, colours)
    draw_ears(canvas, face, colours.skin, features.outline)
    canvas.fill(face.outline, colours.skin, SKIN, features.outline)
    features.nose(canvas, face, colours)
    draw_facial_hair(canvas, face, attributes["facial_hair"], colours.hair, features.outline)
    features.mouth(canvas, face, colours)
    for eye in face.eyes:
        features.eye(canvas, face, eye, colours)
    draw_eyebrows(canvas, face, attributes["eyebrow_thickness"], colours.eyebrows)
    draw_glasses(canvas, face, attributes["glasses"])
    for polygon in hair.front:
        canvas.fill(polygon, colours.hair, HAIR)
    if features.outline is not None:
        for edge, closed in hair.front_edges:
            canvas.stroke(edge, features.outline, closed=closed)


# --------------------------------------------------------------------------- cartoon domain

CARTOON_FACE_CENTRE = (0.5, 0.52)  # fractions of the image side
CARTOON_UNIT = 0.185  # face half-width / image side: the head fills the middle ~60%


def to_pixels(fraction_xy, size: int) -> np.ndarray:
    """Fractions of the image side (edges at 0 and 1) -> pixel-index coordinates."""
    return np.asarray(fraction_xy, np.float64) * size - 0.5


def render_cartoon(attributes: dict[str, int], size: int) -> dict:
    face = layout_face(attributes, to_pixels(CARTOON_FACE_CENTRE, size), CARTOON_UNIT * size)
    canvas = Canvas(np.full((size, size, 3), 255, np.uint8))
    draw_head(canvas, face, attributes, CartoonFeatures())
    return {"image": canvas.image, "landmarks": face.landmarks(), "mask": canvas.head_mask()}


# --------------------------------------------------------------------------- photo domain

PHOTO_FACE_CENTRE = (0.5, 0.47)
PHOTO_UNIT = 0.172  # smaller than the cartoon's: a portrait with shoulders, like CelebA


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


def random_colours(rng: np.random.Generator, count: int) -> np.ndarray:
    """[count, 3] float32 colours as found in photos: mostly muted, sometimes vivid."""
    vivid = rng.uniform(15, 240, (count, 3))
    grey = rng.uniform(30, 225, (count, 1))
    amount = rng.uniform(0.2, 0.85, (count, 1))
    return (vivid * (1 - amount) + grey * amount).astype(np.float32)


# Background shapes at unit size, to be scaled, rotated and placed.
_SHAPE_TEMPLATES = (
    ellipse_points((0, 0), (1, 1), count=20),
    np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)], np.float64),
    np.array([(0, -1), (0.87, 0.5), (-0.87, 0.5)], np.float64),
)


def sample_background(rng: np.random.Generator) -> Background:
    shape_count = int(rng.integers(0, 8))
    colours = random_colours(rng, 3 + shape_count)
    # .tolist(): plain floats, which do not turn float32 image arithmetic into float64.
    angle, period, phase, strength, stripes_draw, hard_draw = rng.uniform(
        [0, 0.04, 0, 0.25, 0, 0], [np.pi, 0.25, 2 * np.pi, 0.8, 1, 1]
    ).tolist()
    spot_x, spot_y, radius, glow, spot_draw, gradient_angle, blur = rng.uniform(
        [0, 0, 0.15, 0.2, 0, 0, 0], [1, 1, 0.5, 0.6, 1, 2 * np.pi, 0.025]
    ).tolist()
    kinds = rng.integers(0, len(_SHAPE_TEMPLATES), shape_count)
    centres = rng.uniform(-0.1, 1.1, (shape_count, 2))
    radii = rng.uniform(0.04, 0.3, (shape_count, 2))
    turns = rng.uniform(0, np.pi, shape_count)
    shapes = []
    for kind, centre, shape_radii, turn, colour in zip(kinds, centres, radii, turns, colours[3:]):
        rotation = np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]])
        shapes.append(((_SHAPE_TEMPLATES[kind] * shape_radii) @ rotation + centre, colour))
    return Background(
        colours=colours[:2],
        gradient_angle=gradient_angle,
        stripes=Stripes(angle, period, phase, colours[2], strength, hard_draw < 0.5) if stripes_draw < 0.45 else None,
        light_spot=(spot_x, spot_y, radius, glow) if spot_draw < 0.4 else None,
        shapes=tuple(shapes),
        blur=blur,
    )


def sample_scene(rng: np.random.Generator) -> PhotoScene:
    """Draw a photo's pose, light, clothes, textures, background and camera from `rng`."""
    # .tolist(): plain floats, which do not turn float32 image arithmetic into float64.
    rotation, scale, shift_x, shift_y = rng.uniform([-12, 0.9, -0.06, -0.06], [12, 1.1, 0.06, 0.06]).tolist()
    azimuth, elevation, ambient, gain = rng.uniform([0, 0.35, 0.4, 1.05], [2 * np.pi, 1.1, 0.6, 1.25]).tolist()
    direction = (math.cos(azimuth) * math.cos(elevation), math.sin(azimuth) * math.cos(elevation),
                 math.sin(elevation))
    contrast, vignette, noise = rng.uniform([0.85, 0, 1.5], [1.1, 0.3, 6]).tolist()
    return PhotoScene(
        pose=Pose(rotation, scale, (shift_x, shift_y)),
        lighting=Lighting(direction, ambient, gain),
        clothes_colour=tuple(random_colours(rng, 1)[0].tolist()),
        skin_blotches=rng.standard_normal((6, 6), np.float32),
        hair_strands=rng.standard_normal((5, 40), np.float32),
        hair_curls=rng.standard_normal((20, 20), np.float32),
        background=sample_background(rng),
        camera=Camera(rng.normal(1, 0.04, 3).astype(np.float32), contrast, vignette, noise),
    )


@functools.lru_cache(maxsize=8)
def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) float32 pixel-index coordinates of every pixel (read-only, cached)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    xs.flags.writeable = ys.flags.writeable = False
    return xs, ys


@functools.lru_cache(maxsize=8)
def distance_from_centre_squared(size: int) -> np.ndarray:
    """HxW float32: squared distance to the image centre, 1 at the middle of each side... corners 2."""
    xs, ys = pixel_grid(size)
    centre = (size - 1) / 2
    squared = ((xs - centre) ** 2 + (ys - centre) ** 2) / max(centre, 0.5) ** 2
    squared.flags.writeable = False
    return squared


def upsampled(noise: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)


def shading(face: Face, parts: np.ndarray, lighting: Lighting) -> tuple[np.ndarray, np.ndarray]:
    """(HxW brightness factor, HxW added shine in [0, 1]) of light on a sphere around the head.

    Clothes get a weaker version of the same light.
    """
    xs, ys = pixel_grid(parts.shape[0])
    centre_x, centre_y = float(face.centre[0]), float(face.centre[1] - 0.1 * face.half_height)
    dx = (xs - centre_x) * float(1 / (1.15 * face.half_width))
    dy = (ys - centre_y) * float(1 / (1.2 * face.half_height))
    # Outside the sphere the normal is the one on its rim.
    inverse_radius = 1 / np.maximum(np.sqrt(dx * dx + dy * dy), np.float32(1))
    dx *= inverse_radius
    dy *= inverse_radius
    dz = np.sqrt(np.maximum(1 - dx * dx - dy * dy, np.float32(0)))
    lx, ly, lz = (float(c) for c in lighting.direction)
    lambert = np.clip(lx * dx + ly * dy + lz * dz, 0, 1)
    # Surfaces turning away from the camera catch less light and more occlusion.
    shade = (lighting.ambient + (1 - lighting.ambient) * lambert) * (0.7 + 0.3 * dz)
    shade = np.where(parts == CLOTHES, 1 - 0.4 * (1 - shade), shade) * np.float32(lighting.gain)
    # Blinn-Phong shine on the skin, the camera looking along z.
    hx, hy, hz = lx, ly, lz + 1
    norm = float(np.sqrt(hx * hx + hy * hy + hz * hz))
    facing = np.clip((hx * dx + hy * dy + hz * dz) / norm, 0, 1)
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
        wave = np.sin(xs * (math.cos(stripes.angle) * frequency) + ys * (math.sin(stripes.angle) * frequency)
                      + stripes.phase)  # fmt: skip
        weight = per_channel(float(stripes.strength) * ((wave > 0).astype(np.float32) if stripes.hard_edged
                                                       else 0.5 + 0.5 * wave))  # fmt: skip
        image = image * (1 - weight) + cv2.multiply(weight, scalar(stripes.colour))
    if background.light_spot is not None:
        spot_x, spot_y, radius, strength = (float(v) for v in background.light_spot)
        glow = per_channel(strength * np.exp(((xs - spot_x) ** 2 + (ys - spot_y) ** 2) * (-1 / radius**2)))
        image = image + glow * (255 - image)
    for polygon, colour in background.shapes:
        cv2.fillPoly(image, [_fixed_point(to_pixels(polygon, size))], scalar(colour), cv2.LINE_AA,
                     _FRACTION_BITS)  # fmt: skip
    if background.blur * size > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), background.blur * size)
    return image


def pose_matrix(pose: Pose, centre: np.ndarray, size: int) -> np.ndarray:
    """2x3 affine map from the upright drawing to the photo."""
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), pose.rotation_deg, pose.scale)
    matrix[:, 2] += np.multiply(pose.shift, size)
    return matrix


def apply_camera(image: np.ndarray, camera: Camera, noise_rng: np.random.Generator) -> np.ndarray:
    """Colour cast, contrast, vignette and sensor noise -> HxWx3 uint8."""
    size = image.shape[0]
    falloff = 1 - float(camera.vignette / 2) * distance_from_centre_squared(size)
    image = cv2.multiply(image * per_channel(falloff), scalar(camera.colour_cast * camera.contrast))
    # Uniform luminance noise from raw bytes: as good as Gaussian to the eye, several times cheaper.
    noise = np.frombuffer(noise_rng.bytes(size * size), np.uint8).reshape(size, size)
    noise_scale = camera.noise / 73.9  # 73.9: the standard deviation of uniform bytes
    offset = 128 * (1 - camera.contrast) - 127.5 * noise_scale + 0.5  # + 0.5: round, not truncate
    image = image + per_channel(noise.astype(np.float32) * np.float32(noise_scale) + np.float32(offset))
    return np.clip(image, 0, 255).astype(np.uint8)


def lit_person(canvas: Canvas, face: Face, scene: PhotoScene, curly_hair: bool) -> tuple[np.ndarray, np.ndarray]:
    """(HxWx3 colour premultiplied by coverage, HxW coverage in [0, 1]) of the shaded, textured,
    softened drawing."""
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
    colour, coverage = (cv2.warpAffine(layer, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REPLICATE) for layer in (colour, coverage))  # fmt: skip
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
    "landmarks": float32 [5, 2] (x, y), "mask": uint8 [size, size]}.
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
            cartoonset.write_attribute_file(
                cartoonset.csv_path_for(path), record["attributes"], ATTRIBUTE_VARIANTS
            )
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
            cv2.putText(label, text, (8, 58 + 24 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (40, 40, 40), 1,
                        cv2.LINE_AA)  # fmt: skip
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
    flags.DEFINE_integer("seed", 0, "Seed of the record sequence: the same seed gives the same people.",
                         lower_bound=0)  # fmt: skip
    flags.DEFINE_integer("start_index", 0, "Index of the first record (to extend a set in several runs).",
                         lower_bound=0)  # fmt: skip
    flags.DEFINE_string("preview", None, "Instead of writing records, write one PNG comparing the two "
                        "domains at 64 and 128 px to this path.")  # fmt: skip


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    options = flags.FLAGS
    if options.preview:
        image_io.write_png(preview_image(options.seed, options.start_index), options.preview)
        print(f"wrote the preview of records {options.start_index}-{options.start_index + PREVIEW_COUNT - 1} "
              f"to {options.preview}")  # fmt: skip
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
    print(f"wrote {len(written)} {options.domain} faces ({options.size}x{options.size}, seed {options.seed}) "
          f"to {out}: {written[0].name} .. {written[-1].name} + {extra}")  # fmt: skip


if __name__ == "__main__":
    # Flags are defined here, not on import: sources.py and the training CLIs import this module.
    define_flags()
    app.run(main)
