"""What is random about a photo besides the person: pose, light, clothes, textures, background, camera."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from preprocessing.synthetic.colours import Colour
from preprocessing.synthetic.geometry import ellipse_points


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
