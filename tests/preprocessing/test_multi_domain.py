"""Multi-domain batches: balanced source domains, reference pairs of the target domain, StarGAN v2's crop."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from preprocessing import pipeline
from preprocessing.multi_domain import folder_domains, parse_domain_list, reference_batches

SIZE = 8


def constant_domain(value: float) -> tf.data.Dataset:
    """An endless domain whose every image is `value`, with a per-image counter in its first pixel: which domain
    an image came from, and that two draws differ, show in its pixels."""
    return tf.data.Dataset.counter().map(
        lambda index: tf.tensor_scatter_nd_update(
            tf.fill([SIZE, SIZE, 3], value), [[0, 0, 0]], [tf.cast(index, tf.float32)]
        )
    )


# Domain k's images are all k / 10 (bar the counter pixel); the domains are of very different sizes in
# a real data set, which the balanced draw ignores.
VALUES = (0.0, 0.1, 0.2)


@pytest.fixture(scope="module")
def batches():
    dataset = reference_batches([constant_domain(value) for value in VALUES], batch_size=16, seed=3)
    return [tuple(part.numpy() for part in batch) for batch in dataset.take(40)]


def domain_of(images: np.ndarray) -> np.ndarray:
    return np.rint(images[:, 1, 1, 0] * 10).astype(int)


def test_batches_have_the_shapes_and_dtypes_of_a_training_batch(batches):
    sources, source_domains, references, second_references, target_domains = batches[0]
    assert sources.shape == references.shape == second_references.shape == (16, SIZE, SIZE, 3)
    assert sources.dtype == references.dtype == second_references.dtype == np.float32
    assert source_domains.shape == target_domains.shape == (16,)
    assert source_domains.dtype == target_domains.dtype == np.int32


def test_each_image_comes_from_the_domain_its_label_says_and_both_references_from_the_target(batches):
    for sources, source_domains, references, second_references, target_domains in batches:
        np.testing.assert_array_equal(domain_of(sources), source_domains)
        np.testing.assert_array_equal(domain_of(references), target_domains)
        np.testing.assert_array_equal(domain_of(second_references), target_domains)
        # Two images, not one twice: consecutive draws of the target domain.
        assert np.all(references[:, 0, 0, 0] != second_references[:, 0, 0, 0])


def test_source_and_target_domains_are_balanced_and_independent(batches):
    sources = np.concatenate([batch[1] for batch in batches])
    targets = np.concatenate([batch[4] for batch in batches])
    count = len(sources)  # 640 examples: each domain expects 213, with a standard deviation of 12
    for domains in (sources, targets):
        assert np.all(np.abs(np.bincount(domains, minlength=3) - count / 3) < 50)
    assert 0.2 < np.mean(sources == targets) < 0.47  # independent: 1/3 of the examples keep their domain


def test_the_draw_is_fixed_by_the_seed():
    def first(seed):
        dataset = reference_batches([constant_domain(value) for value in VALUES], batch_size=8, seed=seed)
        return next(iter(dataset))[1].numpy()

    np.testing.assert_array_equal(first(1), first(1))
    assert not np.array_equal(first(1), first(2))


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "photo=synthetic:photo:8,cartoon=synthetic:cartoon:8",
            [("photo", "synthetic:photo:8"), ("cartoon", "synthetic:cartoon:8")],
        ),
        (" face = folder:a/b , cartoon=cartoonset:cs10k,", [("face", "folder:a/b"), ("cartoon", "cartoonset:cs10k")]),
        ("a=tfds:celeb_a:train[:100],b=folder:x=y", [("a", "tfds:celeb_a:train[:100]"), ("b", "folder:x=y")]),
    ],
)
def test_a_domain_list_is_names_and_source_specs_in_id_order(text, expected):
    assert parse_domain_list(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("photo=synthetic:photo", "at least 2 domains, got 1"),
        ("", "at least 2 domains, got 0"),
        ("photo=synthetic:photo,cartoon", "entry 'cartoon' is not NAME=SOURCE_SPEC"),
        ("photo=synthetic:photo,cartoon=", "entry 'cartoon=' is not NAME=SOURCE_SPEC"),
        ("photo=a,=b", "entry '=b'"),
        ("photo=a,my photo=b", "a domain name is letters"),
        ("photo=a,cartoon=b,photo=c", "domain 'photo' is named twice"),
    ],
)
def test_a_bad_domain_list_is_refused_naming_the_entry(text, message):
    with pytest.raises(ValueError, match=message):
        parse_domain_list(text)


def test_a_dataset_folder_gives_its_subfolders_sorted_as_domains(tmp_path):
    for name in ("male", "female", ".cache"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("not a domain")
    assert folder_domains(str(tmp_path)) == [
        ("female", f"folder:{tmp_path / 'female'}"),
        ("male", f"folder:{tmp_path / 'male'}"),
    ]


def test_a_dataset_folder_needs_two_subfolders(tmp_path):
    (tmp_path / "only").mkdir()
    with pytest.raises(ValueError, match="one subfolder per domain, at least 2; found"):
        folder_domains(str(tmp_path))
    with pytest.raises(ValueError, match="is not a folder"):
        folder_domains(str(tmp_path / "missing"))


# --- the random resized crop ------------------------------------------------------------------------


def test_resized_crop_windows_keep_the_official_scale_and_ratio_bounds():
    side = 256
    crop = pipeline.RandomResizedCrop()
    offsets, sizes = (part.numpy() for part in crop.windows(4000, side, tf.constant([0, 7], tf.int64)))
    cropped = np.any(sizes < side, axis=1)
    assert 0.45 < cropped.mean() < 0.55  # p = 0.5
    np.testing.assert_array_equal(sizes[~cropped], side)  # the others whole
    w, h = sizes[cropped].T
    rounding = 1 / side  # w and h are whole pixels
    assert np.all(w * h / side**2 >= 0.8 - 2 * rounding) and np.all(w * h / side**2 <= 1.0)
    assert np.all(w / h >= 0.9 - 2 * rounding) and np.all(w / h <= 1.1 + 2 * rounding)
    assert np.ptp(w / h) > 0.15 and np.ptp(w * h / side**2) > 0.15  # the whole ranges are drawn
    assert np.all(offsets >= 0) and np.all(offsets + sizes <= side)  # inside the image
    np.testing.assert_array_equal(offsets, np.floor(offsets))


def ramp_batch(side: int, count: int) -> tf.Tensor:
    """Images whose red channel is 2x and green 2y (x, y in pixels): their slopes after a crop give its zoom."""
    y, x = np.mgrid[0:side, 0:side]
    image = np.stack([2 * x, 2 * y, np.zeros_like(x)], axis=-1).astype(np.uint8)
    return tf.constant(np.stack([image] * count))


def test_a_resized_crop_zooms_into_a_window_of_the_official_scale_and_ratio():
    side, count = 96, 64
    settings = pipeline.RandomResizedCrop(probability=1.0)
    out = (
        pipeline._augment_batch(
            {"image": ramp_batch(side, count)},
            ("random_resized_crop",),
            side,
            tf.constant([1, 2], tf.int64),
            0,
            0,
            settings,
        )["image"]
        .numpy()
        .astype(float)
    )
    inner = slice(4, side - 4)
    # A window of w px shown over `side` px: the ramp's slope becomes 2 w / side.
    zoom_x = np.mean(np.diff(out[:, inner, inner, 0], axis=2), axis=(1, 2)) / 2
    zoom_y = np.mean(np.diff(out[:, inner, inner, 1], axis=1), axis=(1, 2)) / 2
    area, ratio = zoom_x * zoom_y, zoom_x / zoom_y
    assert np.all((area > 0.8 - 0.03) & (area < 1.0 + 0.01))
    assert np.all((ratio > 0.9 - 0.03) & (ratio < 1.1 + 0.03))
    assert np.ptp(area) > 0.1


def test_without_a_crop_the_image_passes_whole():
    side = 32
    stored = tf.constant(np.random.default_rng(0).integers(0, 255, (4, side, side, 3), dtype=np.uint8))
    out = pipeline._augment_batch(
        {"image": stored},
        ("random_resized_crop",),
        side,
        tf.constant([0, 1], tf.int64),
        0,
        0,
        pipeline.RandomResizedCrop(probability=0.0),
    )
    np.testing.assert_array_equal(out["image"].numpy(), stored.numpy())


def test_a_resized_crop_keeps_landmarks_on_their_pixels():
    side = 64
    image = np.zeros((side, side, 3), np.uint8)
    points = np.array([[20.0, 24.0], [44.0, 24.0], [32.0, 34.0], [24.0, 46.0], [40.0, 46.0]], np.float32)
    for x, y in points.astype(int):
        image[y, x] = 255
    batch = {"image": tf.constant(np.stack([image] * 6)), "landmarks": tf.constant(np.stack([points] * 6))}
    out = pipeline._augment_batch(
        batch, ("random_resized_crop",), side, tf.constant([5, 6], tf.int64), 0, 0, pipeline.RandomResizedCrop(1.0)
    )
    for moved_image, moved_points in zip(out["image"].numpy(), out["landmarks"].numpy()):
        for x, y in moved_points:
            window = moved_image[int(y) - 1 : int(y) + 3, int(x) - 1 : int(x) + 3, 0]
            assert window.max() > 60  # the dot, spread over a pixel or two by the zoom


def test_load_domain_takes_random_resized_crop_and_refuses_it_beside_random_crop(tmp_path):
    for index in range(4):
        Image.fromarray(np.full((20, 20, 3), 40 * index, np.uint8)).save(tmp_path / f"{index}.png")
    batch = next(
        iter(
            pipeline.load_domain(f"folder:{tmp_path}", image_size=16, batch_size=4, augment="random_resized_crop,flip")
        )
    )
    assert batch.shape == (4, 16, 16, 3)
    with pytest.raises(ValueError, match="pick one"):
        pipeline.load_domain(
            f"folder:{tmp_path}", image_size=16, load_size=20, augment="random_crop,random_resized_crop"
        )


def test_the_official_crop_is_the_default():
    crop = pipeline.DEFAULT_RESIZED_CROP
    assert (crop.probability, crop.scale, crop.ratio) == (0.5, (0.8, 1.0), (0.9, 1.1))
