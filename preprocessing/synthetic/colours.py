"""Colours of the synthetic faces and the colours of one head derived from its attributes."""

from __future__ import annotations

from dataclasses import dataclass

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
