"""The photo domain: the person shaded, textured, posed and photographed in front of a background."""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from preprocessing.synthetic.canvas import CLOTHES, DETAIL, FRACTION_BITS, HAIR, SKIN, Canvas, fixed_points, to_pixels
from preprocessing.synthetic.colours import MOUTH_INSIDE, PUPIL, SCLERA, TEETH, WHITE, Colour, HeadColours, darker
from preprocessing.synthetic.features import ALONG_ROUNDNESS, has_opening, mouth_lines, photo_body_shapes, shows_teeth
from preprocessing.synthetic.geometry import Face, layout_face
from preprocessing.synthetic.hair import CURLY_HAIR_STYLES
from preprocessing.synthetic.head import draw_head, shifted
from preprocessing.synthetic.photo_scene import Background, Camera, Lighting, PhotoScene, Pose, sample_scene

# Where the face ellipse sits (fractions of the image side) and its half width (fraction
# of the side): a smaller portrait than the cartoon, with shoulders, like CelebA.
PHOTO_FACE_CENTRE, PHOTO_UNIT = (0.5, 0.47), 0.172


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
        lip_top = upper - np.outer(ALONG_ROUNDNESS, (0, 0.07 * face.unit))
        lip_bottom = lower + np.outer(ALONG_ROUNDNESS, (0, 0.09 * face.unit))
        canvas.fill(np.vstack([lip_top, middle[::-1]]), darker(colours.lips, 0.9), DETAIL)
        canvas.fill(np.vstack([middle, lip_bottom[::-1]]), colours.lips, DETAIL)
        if not has_opening(face):
            canvas.stroke(middle, darker(colours.lips, 0.45))
            return
        canvas.fill(np.vstack([upper, lower[::-1]]), darker(MOUTH_INSIDE, 0.6), DETAIL)
        if shows_teeth(face):
            teeth = np.vstack([upper, (upper + 0.3 * (lower - upper))[::-1]])
            canvas.fill(teeth, darker(TEETH, 0.92), DETAIL)


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
        cv2.fillPoly(image, [fixed_points(to_pixels(polygon, size))], scalar(colour), cv2.LINE_AA, FRACTION_BITS)
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
