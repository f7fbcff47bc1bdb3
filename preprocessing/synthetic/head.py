"""Drawing one head back to front, in the look (outlines, eyes, nose, mouth) of a domain."""

from __future__ import annotations

from typing import Protocol

from preprocessing.synthetic.canvas import DETAIL, HAIR, SKIN, Canvas
from preprocessing.synthetic.colours import LENS, SUNGLASSES_OPACITY, Colour, HeadColours, darker, head_colours
from preprocessing.synthetic.features import GLASSES_STYLES, SUNGLASSES, eyebrows, facial_hair_shapes, glasses_shapes
from preprocessing.synthetic.geometry import Face
from preprocessing.synthetic.hair import hair_shapes


class Look(Protocol):
    """What differs between the domains' heads (cartoon.CartoonFeatures, photo.PhotoFeatures)."""

    outline: Colour | None  # drawn around filled shapes; None: no outlines

    def body(self, canvas: Canvas, face: Face, colours: HeadColours) -> None: ...

    def eye(self, canvas: Canvas, face: Face, centre, colours: HeadColours) -> None: ...

    def nose(self, canvas: Canvas, face: Face, colours: HeadColours) -> None: ...

    def mouth(self, canvas: Canvas, face: Face, colours: HeadColours) -> None: ...


def shifted(point, dx: float, dy: float) -> tuple[float, float]:
    return (point[0] + dx, point[1] + dy)


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


def draw_head(canvas: Canvas, face: Face, attributes: dict[str, int], features: Look) -> None:
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
