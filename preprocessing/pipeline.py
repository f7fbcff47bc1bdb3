"""The input pipeline every model uses: a source spec -> batches in [-1, 1].

    decode -> RGB -> [background -> white] -> crop -> resize -> cache (uint8)
           -> shuffle -> batch -> augment -> (x - 127.5) / 127.5 -> prefetch

Per-image work up to the cache runs once; everything after it is batched, so
epochs read from the cache cost little more than a copy. Landmarks and masks
follow the image through every geometric step.
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

from preprocessing.decode import WHITE
from preprocessing.sources import load_source

CROPS = ("none", "center", "bbox")
# "white" composites the subject over white with the source's foreground mask: the report's faces
# are "centred, cropped, background removed" (its §6.2), as Cartoon Set's are by construction.
BACKGROUNDS = ("keep", "white")
AUGMENTATIONS = ("flip", "rotate", "shift", "random_crop", "random_resized_crop")
# The report loads Cartoon Set images at 83x83 and centre-crops 64x64 to drop the white border.
REPORT_CENTER_CROP_FRACTION = 64 / 83
# After a horizontal flip the image-left eye is the former right one (CelebA order).
FLIPPED_LANDMARK_ORDER = [1, 0, 2, 4, 3]


@dataclasses.dataclass(frozen=True)
class RandomResizedCrop:
    """torchvision's `RandomResizedCrop(size, scale, ratio)`, applied to an image with `probability`.

    Defaults: StarGAN v2's (clovaai/stargan-v2 core/data_loader.py): `RandomResizedCrop(img_size,
    scale=[0.8, 1.0], ratio=[0.9, 1.1])` on half the images, the others resized whole. As torchvision
    samples it: up to `attempts` candidates of area `side² · U(scale)` and aspect `exp(U(log ratio))`,
    `w = round(sqrt(area · aspect))`, `h = round(sqrt(area / aspect))`; the first that fits in the image
    is taken at an integer offset drawn uniformly; none fitting, the whole (square) image.
    """

    probability: float = 0.5
    scale: tuple[float, float] = (0.8, 1.0)
    ratio: tuple[float, float] = (0.9, 1.1)
    attempts: int = 10

    def windows(self, count, side: int, seed) -> tuple[tf.Tensor, tf.Tensor]:
        """(offsets, sizes) of `count` windows in a `side` x `side` image: float32 [count, 2] pixels as (x, y) and
        (w, h); a window not cropped is the whole image."""
        seeds = tf.random.experimental.stateless_split(seed, 4)
        shape = tf.stack([count, self.attempts])
        area = side * side * tf.random.stateless_uniform(shape, seeds[0], *self.scale)
        log_ratio = tf.random.stateless_uniform(shape, seeds[1], math.log(self.ratio[0]), math.log(self.ratio[1]))
        aspect = tf.exp(log_ratio)
        candidates = tf.round(tf.stack([tf.sqrt(area * aspect), tf.sqrt(area / aspect)], axis=-1))
        fits = tf.reduce_all((candidates >= 1) & (candidates <= side), axis=-1)
        first = tf.argmax(tf.cast(fits, tf.int32), axis=1)
        chosen = tf.gather(candidates, first, batch_dims=1)
        cropped = tf.reduce_any(fits, axis=1) & (tf.random.stateless_uniform([count], seeds[2]) < self.probability)
        sizes = tf.where(cropped[:, None], chosen, float(side))
        offsets = tf.floor(tf.random.stateless_uniform([count, 2], seeds[3]) * (side - sizes + 1))
        return offsets, sizes


DEFAULT_RESIZED_CROP = RandomResizedCrop()


def load_domain(
    spec: str,
    *,
    image_size: int = 64,
    batch_size: int = 16,
    crop: str = "none",
    background: str = "keep",
    center_crop_fraction: float = REPORT_CENTER_CROP_FRACTION,
    bbox_margin: float = 0.05,
    augment=(),
    load_size: int | None = None,
    max_rotation_degrees: float = 10.0,
    max_shift_fraction: float = 0.05,
    resized_crop: RandomResizedCrop = DEFAULT_RESIZED_CROP,
    normalize: bool = True,
    shuffle: bool = True,
    shuffle_buffer: int = 4096,
    cache: bool | str = True,
    repeat: bool = True,
    drop_remainder: bool = True,
    seed: int = 0,
    with_metadata: bool = False,
    tfds_data_dir: str | None = None,
) -> tf.data.Dataset:
    """Batches of float32 images `[B, image_size, image_size, 3]` from a source spec.

    Args:
      spec: a source spec (see `preprocessing.sources`), e.g. "synthetic:cartoon".
      background: "keep", or "white" to paint everything outside the subject
        white: outside the source's foreground mask (synthetic:photo), or, for
        sources without masks (real photos), outside MediaPipe's selfie
        segmentation, run once per image before the cache.
      crop: "none" (resize as is), "center" (centred square of
        `center_crop_fraction` of the short side: the report's 83 -> 64 crop) or
        "bbox" (square around the non-white pixels, grown by `bbox_margin`).
      augment: names from AUGMENTATIONS (a list or a comma-separated string):
        "flip" (horizontal), "rotate" (up to +-max_rotation_degrees), "shift" (up
        to +-max_shift_fraction of the side), "random_crop" (resize to
        `load_size`, then a random image_size window: CycleGAN's 286 -> 256),
        "random_resized_crop" (`resized_crop`'s window of the image stored at
        `load_size` or image_size, resized to image_size: StarGAN v2's).
      normalize: map to [-1, 1]; False keeps [0, 255] (the report's experiment 1).
      cache: True (memory), a file path prefix, or False. Endless sources are
        never cached.
      with_metadata: yield dicts with "image" and whatever the source knows
        ("attributes", "landmarks" as output-pixel (x, y), "mask") instead of
        bare image batches.
    """
    augment = _parse_augmentations(augment)
    _check_crop(crop)
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {BACKGROUNDS}, got {background!r}")
    stored_size = load_size or image_size
    if {"random_crop", "random_resized_crop"} <= set(augment):
        raise ValueError("augment: random_crop and random_resized_crop both choose the window; pick one")
    if "random_crop" in augment and stored_size <= image_size:
        raise ValueError(
            f"random_crop needs load_size > image_size, got load_size={load_size}, image_size={image_size}"
        )
    source = load_source(spec, image_size=stored_size, seed=seed, shuffle_files=shuffle, tfds_data_dir=tfds_data_dir)
    dataset = source.dataset
    if background == "white":
        dataset = _on_white(source)
    if not with_metadata:
        dataset = dataset.map(lambda record: {"image": record["image"]})

    def crop_and_resize(record):
        return _crop_and_resize(record, crop, center_crop_fraction, bbox_margin, stored_size)

    dataset = dataset.map(crop_and_resize, num_parallel_calls=tf.data.AUTOTUNE)
    if cache and source.num_records is not None:
        dataset = dataset.cache() if cache is True else dataset.cache(str(cache))
    if shuffle and source.num_records is not None:
        # An endless source (fresh synthetic faces) is already i.i.d.; filling a buffer would only delay training.
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def finish(index, batch):
        augmentation_seed = tf.stack([tf.cast(seed, tf.int64), index])
        batch = _augment_batch(
            batch, augment, image_size, augmentation_seed, max_rotation_degrees, max_shift_fraction, resized_crop
        )
        batch["image"] = _to_float(batch["image"], normalize)
        return batch if with_metadata else batch["image"]

    dataset = dataset.enumerate().map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def unpaired(domain_a: tf.data.Dataset, domain_b: tf.data.Dataset) -> tf.data.Dataset:
    """Zip two batched domains of different sizes into `(a, b)` pairs.

    Finite domains: one pass over the longer, repeating the shorter. An endless
    domain is zipped with the other one repeated.
    """
    size_a, size_b = int(domain_a.cardinality()), int(domain_b.cardinality())
    if size_a == tf.data.INFINITE_CARDINALITY or size_b == tf.data.INFINITE_CARDINALITY:
        return tf.data.Dataset.zip((domain_a.repeat(), domain_b.repeat()))
    if size_a == 0 or size_b == 0:
        raise ValueError("unpaired: one of the domains yields no batch (fewer images than batch_size?)")
    if size_a >= size_b:
        return tf.data.Dataset.zip((domain_a, domain_b.repeat()))
    return tf.data.Dataset.zip((domain_a.repeat(), domain_b))


def normalize_images(images: tf.Tensor) -> tf.Tensor:
    """The report's normalisation: `(image - 127.5) / 127.5`, float32 in [-1, 1]."""
    return (tf.cast(images, tf.float32) - 127.5) / 127.5


def _to_float(images: tf.Tensor, normalize: bool) -> tf.Tensor:
    return normalize_images(images) if normalize else tf.cast(images, tf.float32)


def _check_crop(crop: str) -> None:
    if crop not in CROPS:
        raise ValueError(f"crop={crop!r}: expected one of {CROPS}")


def _on_white(source) -> tf.data.Dataset:
    """The source's records with the background painted white, by its masks or by the person segmenter."""
    if "mask" in source.dataset.element_spec:
        return source.dataset.map(_paint_background_white, num_parallel_calls=tf.data.AUTOTUNE)
    from preprocessing import models
    from preprocessing.face_models import PersonSegmenter

    try:
        segmenter = PersonSegmenter.load()
    except models.ModelUnavailableError as error:
        raise ValueError(
            f"{source.spec!r} has no foreground masks and the person segmenter is missing: {error}"
        ) from None

    def person_mask(image: tf.Tensor) -> tf.Tensor:
        mask = tf.numpy_function(lambda rgb: segmenter.person_mask(rgb)[..., None], [image], tf.float32)
        return tf.ensure_shape(mask, [None, None, 1])

    def paint(record: dict) -> dict:
        return {**record, "image": composite_over_white(record["image"], person_mask(record["image"]))}

    return source.dataset.map(paint, num_parallel_calls=tf.data.AUTOTUNE)


def _paint_background_white(record: dict) -> dict:
    """The image composited over white with its mask (uint8, 255 = subject): what remove_background writes."""
    return {**record, "image": composite_over_white(record["image"], tf.cast(record["mask"], tf.float32) / 255.0)}


def composite_over_white(image: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """uint8 HxWx3 over white with alpha HxWx1 in [0, 1]."""
    composite = tf.cast(image, tf.float32) * alpha + WHITE * (1.0 - alpha)
    return tf.cast(tf.round(composite), tf.uint8)


def _parse_augmentations(augment) -> tuple[str, ...]:
    names = tuple(a.strip() for a in augment.split(",") if a.strip()) if isinstance(augment, str) else tuple(augment)
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"augment: unknown {unknown}; expected names from {AUGMENTATIONS}")
    return names


# --- crop and resize (per image, before the cache) -------------------------------------------


def _center_square(image: tf.Tensor, fraction: float):
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.maximum(1, tf.cast(tf.round(fraction * tf.cast(tf.minimum(height, width), tf.float32)), tf.int32))
    return (height - side) // 2, (width - side) // 2, side


def _foreground_square(image: tf.Tensor, margin: float, threshold: int = 16):
    """Square box around the pixels that are not near-white, grown by `margin` per side."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    foreground = tf.reduce_any(image < WHITE - threshold, axis=-1)
    rows, cols = tf.reduce_any(foreground, axis=1), tf.reduce_any(foreground, axis=0)
    has_foreground = tf.reduce_any(rows)
    top = tf.cast(tf.argmax(tf.cast(rows, tf.int32)), tf.int32)
    bottom = height - tf.cast(tf.argmax(tf.cast(tf.reverse(rows, [0]), tf.int32)), tf.int32)
    left = tf.cast(tf.argmax(tf.cast(cols, tf.int32)), tf.int32)
    right = width - tf.cast(tf.argmax(tf.cast(tf.reverse(cols, [0]), tf.int32)), tf.int32)
    extent = tf.cast(tf.maximum(bottom - top, right - left), tf.float32)
    side = tf.maximum(1, tf.cast(tf.round(extent * (1 + 2 * margin)), tf.int32))
    box = ((top + bottom - side) // 2, (left + right - side) // 2, side)
    whole = (0, 0, tf.maximum(height, width))
    return tuple(tf.where(has_foreground, b, w) for b, w in zip(box, whole))


def _square_window(tensor: tf.Tensor, top, left, side, fill) -> tf.Tensor:
    """`tensor[top:top+side, left:left+side]`, padding with `fill` where it leaves the image."""
    height, width = tf.shape(tensor)[0], tf.shape(tensor)[1]
    pad_top, pad_left = tf.maximum(0, -top), tf.maximum(0, -left)
    pad_bottom = tf.maximum(0, top + side - height)
    pad_right = tf.maximum(0, left + side - width)
    padded = tf.pad(tensor, [[pad_top, pad_bottom], [pad_left, pad_right], [0, 0]], constant_values=fill)
    return padded[top + pad_top : top + pad_top + side, left + pad_left : left + pad_left + side]


def _resize_uint8(image: tf.Tensor, size: int) -> tf.Tensor:
    """Area averaging to shrink (fast and alias-free), bilinear to enlarge."""
    shrinking = tf.reduce_min(tf.shape(image)[:2]) >= size
    resized = tf.cond(
        shrinking,
        lambda: tf.image.resize(image, [size, size], method="area"),
        lambda: tf.image.resize(image, [size, size], method="bilinear"),
    )
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _resize_mask(mask: tf.Tensor, size: int) -> tf.Tensor:
    return tf.cast(tf.image.resize(mask, [size, size], method="nearest"), tf.uint8)


def _crop_and_resize(record: dict, crop: str, fraction: float, margin: float, size: int) -> dict:
    record = dict(record)
    image = record["image"]
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    if crop == "center":
        top, left, side = _center_square(image, fraction)
    elif crop == "bbox":
        top, left, side = _foreground_square(image, margin)
    if crop == "none":
        record["image"] = _resize_uint8(image, size)
        scale_x = size / tf.cast(width, tf.float32)
        scale_y = size / tf.cast(height, tf.float32)
        offset = tf.zeros([2])
    else:
        record["image"] = _resize_uint8(_square_window(image, top, left, side, WHITE), size)
        scale_x = scale_y = size / tf.cast(side, tf.float32)
        offset = tf.cast(tf.stack([left, top]), tf.float32)
    if "mask" in record:
        mask = record["mask"]
        if crop != "none":
            mask = _square_window(mask, top, left, side, 0)
        record["mask"] = _resize_mask(mask, size)
    if "landmarks" in record:
        # Pixel-centre coordinates: index i covers [i, i + 1), so scale the centres.
        record["landmarks"] = (record["landmarks"] - offset + 0.5) * tf.stack([scale_x, scale_y]) - 0.5
    return record


# --- batched augmentation (after the cache) --------------------------------------------------


def _augment_batch(
    batch, augment, image_size, seed, max_rotation_degrees, max_shift_fraction, resized_crop=DEFAULT_RESIZED_CROP
):
    """One random affine map per image (crop window, flip, rotation, shift), applied once."""
    stored_size = batch["image"].shape[1]
    if not augment and stored_size == image_size:
        return batch
    batch = dict(batch)
    count = tf.shape(batch["image"])[0]
    seeds = tf.random.experimental.stateless_split(seed, 5)

    def uniform(index, low, high):
        return tf.random.stateless_uniform([count], seeds[index], low, high)

    flip = uniform(0, 0.0, 1.0) < 0.5 if "flip" in augment else tf.zeros([count], tf.bool)
    max_angle = math.radians(max_rotation_degrees) if "rotate" in augment else 0.0
    angle = uniform(1, -max_angle, max_angle)
    max_shift = max_shift_fraction * image_size if "shift" in augment else 0.0
    shift = tf.stack([uniform(2, -max_shift, max_shift), uniform(3, -max_shift, max_shift)], axis=1)
    if "random_resized_crop" in augment:
        crop_seed = tf.random.experimental.stateless_fold_in(seed, 5)
        offsets, sizes = resized_crop.windows(count, stored_size, crop_seed)
    else:
        slack = float(stored_size - image_size)
        if "random_crop" in augment:
            # Integer window offsets, as a crop would take.
            offsets = tf.floor(tf.random.stateless_uniform([count, 2], seeds[4], 0.0, slack + 1))
        else:
            offsets = tf.fill([count, 2], slack / 2)
        sizes = tf.fill([count, 2], float(image_size))
    matrix, translation = _output_to_input_affine(flip, angle, shift, offsets, sizes, image_size)
    batch["image"] = _warp(batch["image"], matrix, translation, image_size, "BILINEAR", "NEAREST")
    if "mask" in batch:
        batch["mask"] = _warp(batch["mask"], matrix, translation, image_size, "NEAREST", "CONSTANT")
    if "landmarks" in batch:
        batch["landmarks"] = _landmarks_to_output(batch["landmarks"], matrix, translation, flip)
    return batch


def _output_to_input_affine(flip, angle, shift, offsets, sizes, image_size):
    """`input = matrix @ output + translation`, per image, in pixel-index coordinates.

    An output pixel is flipped about the centre, rotated about it, scaled from image_size to the window's
    (w, h) and placed at the centre of the window (x, y, w, h: `offsets`, `sizes`) in the stored image,
    moved by `shift`.
    """
    centre = (image_size - 1) / 2.0
    mirror = tf.where(flip, -1.0, 1.0)
    cos, sin = tf.cos(angle), tf.sin(angle)
    rotation = tf.stack([tf.stack([cos * mirror, -sin], axis=1), tf.stack([sin * mirror, cos], axis=1)], axis=1)
    matrix = rotation * (sizes / image_size)[:, :, None]  # rows scaled: diag(w, h) / image_size @ rotation
    window_centre = offsets + (sizes - 1) / 2
    translation = window_centre + shift - tf.linalg.matvec(matrix, tf.fill(tf.shape(shift), centre))
    return matrix, translation


def _warp(images, matrix, translation, image_size, interpolation, fill_mode):
    transforms = tf.concat(
        [matrix[:, 0, :], translation[:, :1], matrix[:, 1, :], translation[:, 1:], tf.zeros_like(translation)],
        axis=1,
    )
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(images, tf.float32),
        transforms=transforms,
        output_shape=[image_size, image_size],
        fill_value=0.0,
        interpolation=interpolation,
        fill_mode=fill_mode,
    )
    return tf.cast(tf.clip_by_value(tf.round(warped), 0, 255), images.dtype)


def _landmarks_to_output(landmarks, matrix, translation, flip):
    """Invert the output->input map for each point, then rename the points a flip swapped."""
    inverse = tf.linalg.inv(matrix)
    moved = tf.einsum("bij,bpj->bpi", inverse, landmarks - translation[:, None, :])
    return tf.where(flip[:, None, None], tf.gather(moved, FLIPPED_LANDMARK_ORDER, axis=1), moved)


def prepare_image(
    image,
    image_size: int,
    crop: str = "none",
    center_crop_fraction: float = REPORT_CENTER_CROP_FRACTION,
    bbox_margin: float = 0.05,
) -> tf.Tensor:
    """One HxWx3 uint8 image -> `[image_size, image_size, 3]` float32 in [-1, 1], cropped as `load_domain` does."""
    _check_crop(crop)
    record = _crop_and_resize(
        {"image": tf.convert_to_tensor(image, tf.uint8)}, crop, center_crop_fraction, bbox_margin, image_size
    )
    return normalize_images(record["image"])
