"""The hair styles: polygons behind and over a face."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from preprocessing.synthetic.geometry import Face, bumpy, ellipse_points, symmetric, unit_arc

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
    arc = unit_arc(185, 355, 21)
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
