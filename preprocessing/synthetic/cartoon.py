"""The cartoon domain: Cartoon-Set-like flat colours and dark outlines on white."""

from __future__ import annotations

import numpy as np

from preprocessing.synthetic.canvas import DETAIL, Canvas, to_pixels
from preprocessing.synthetic.colours import MOUTH_INSIDE, OUTLINE, PUPIL, TEETH, WHITE, HeadColours, darker
from preprocessing.synthetic.features import has_opening, mouth_lines, shows_teeth
from preprocessing.synthetic.geometry import Face, layout_face
from preprocessing.synthetic.head import draw_head, shifted

# Where the face ellipse sits (fractions of the image side) and its half width (fraction
# of the side): the head fills the middle ~60% of the image, like the Cartoon Set.
CARTOON_FACE_CENTRE, CARTOON_UNIT = (0.5, 0.52), 0.2


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


def render_cartoon(attributes: dict[str, int], size: int) -> dict:
    face = layout_face(attributes, to_pixels(CARTOON_FACE_CENTRE, size), CARTOON_UNIT * size)
    canvas = Canvas(np.full((size, size, 3), 255, np.uint8))
    draw_head(canvas, face, attributes, CartoonFeatures())
    return {"image": canvas.image, "landmarks": face.landmarks(), "mask": canvas.head_mask()}
