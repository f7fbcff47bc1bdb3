from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from preprocessing import pipeline, synthetic
from preprocessing.pipeline import load_domain, normalize_images, unpaired


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _folder_of_solids(root: Path, values) -> Path:
    for i, value in enumerate(values):
        _write(root / f"{i:03d}.png", np.full((16, 16, 3), value, np.uint8))
    return root


def test_normalisation_is_the_reports_formula():
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
    np.testing.assert_allclose(normalize_images(pixels).numpy(), (pixels.astype(np.float32) - 127.5) / 127.5)


@pytest.mark.parametrize("normalize, low, high", [(True, -1.0, 1.0), (False, 0.0, 255.0)])
def test_batches_have_the_requested_shape_dtype_and_range(tmp_path, normalize, low, high):
    _folder_of_solids(tmp_path, [0, 255, 0, 255, 0])
    dataset = load_domain(f"folder:{tmp_path}", image_size=8, batch_size=2, normalize=normalize, repeat=False)
    batches = [b.numpy() for b in dataset]
    assert len(batches) == 2  # 5 images, batch 2, remainder dropped
    assert all(b.shape == (2, 8, 8, 3) and b.dtype == np.float32 for b in batches)
    values = np.unique(np.concatenate(batches))
    assert set(values) <= {low, high}


def test_center_crop_removes_the_border_as_the_report_does(tmp_path):
    image = np.full((83, 83, 3), 255, np.uint8)
    border = (83 - 64) // 2
    image[border : border + 64, border : border + 64] = [200, 40, 40]
    _write(tmp_path / "a.png", image)
    [batch] = list(load_domain(f"folder:{tmp_path}", image_size=64, batch_size=1, crop="center", repeat=False))
    expected = normalize_images(np.array([200, 40, 40], np.uint8)).numpy()
    np.testing.assert_allclose(batch.numpy()[0], np.broadcast_to(expected, (64, 64, 3)), atol=1e-6)


def test_bbox_crop_squares_the_non_white_region(tmp_path):
    image = np.full((200, 300, 3), 255, np.uint8)
    image[20:60, 200:280] = [0, 0, 255]  # 40x80 box, off centre
    _write(tmp_path / "a.png", image)
    [batch] = list(
        load_domain(
            f"folder:{tmp_path}",
            image_size=32,
            batch_size=1,
            crop="bbox",
            bbox_margin=0.0,
            repeat=False,
            normalize=False,
        )
    )
    out = batch.numpy()[0]
    blue = (out[..., 2] > 200) & (out[..., 0] < 50)
    # An 80-wide box squared to 80x80: the blue band fills the full width, the middle half of rows.
    assert blue[12:20].all() and blue[:, :].mean() == pytest.approx(0.5, abs=0.07)
    assert (out[:4] == 255).all() and (out[-4:] == 255).all()


def _dot_record(size: int, points: np.ndarray) -> dict:
    image = np.zeros((size, size, 3), np.uint8)
    for x, y in points:
        image[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2] = [255, 0, 0]
    return {"image": tf.constant(image), "landmarks": tf.constant(points, tf.float32)}


def _dot_centres(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Centroid of the red pixels nearest each expected point (padding is white, so not red)."""
    redness = image[..., 0].astype(np.float32) - image[..., 1]
    ys, xs = np.nonzero(redness > 60)
    bright = np.stack([xs, ys], axis=1).astype(np.float32)
    weights = redness[ys, xs]
    nearest = np.argmin(((bright[:, None] - points[None]) ** 2).sum(-1), axis=1)
    return np.stack(
        [np.average(bright[nearest == k], axis=0, weights=weights[nearest == k]) for k in range(len(points))]
    )


POINTS = np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]], np.float32)  # CelebA order


@pytest.mark.parametrize("crop", ["none", "center", "bbox"])
def test_landmarks_follow_the_crop_and_resize(crop):
    record = _dot_record(120, POINTS)
    out = pipeline._crop_and_resize(record, crop, 0.8, 0.1, size=60)
    image, landmarks = out["image"].numpy(), out["landmarks"].numpy()
    np.testing.assert_allclose(_dot_centres(image, landmarks), landmarks, atol=1.0)
    assert not np.allclose(landmarks, POINTS)


def test_augmentation_moves_landmarks_with_the_pixels_and_renames_flipped_eyes():
    record = _dot_record(64, POINTS * 0.64)
    batch = {k: tf.stack([v] * 8) for k, v in record.items()}
    out = pipeline._augment_batch(batch, ("flip", "rotate", "shift"), 64, tf.constant([3, 4], tf.int64), 15.0, 0.08)
    moved_any = False
    for image, landmarks in zip(out["image"].numpy(), out["landmarks"].numpy()):
        np.testing.assert_allclose(_dot_centres(image, landmarks), landmarks, atol=1.0)
        assert landmarks[0, 0] < landmarks[1, 0] and landmarks[3, 0] < landmarks[4, 0]  # left stays image-left
        moved_any |= not np.allclose(landmarks, POINTS * 0.64, atol=0.5)
    assert moved_any


def test_random_crop_takes_an_exact_window_of_the_resized_image():
    stored = tf.constant(np.random.default_rng(0).integers(0, 255, (4, 40, 40, 3), dtype=np.uint8))
    out = pipeline._augment_batch({"image": stored}, ("random_crop",), 32, tf.constant([0, 1], tf.int64), 0, 0)
    offsets = set()
    for source, window in zip(stored.numpy(), out["image"].numpy()):
        matches = [(y, x) for y in range(9) for x in range(9) if np.array_equal(source[y : y + 32, x : x + 32], window)]
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) > 1


def test_augmentation_is_seeded_and_differs_between_batches(tmp_path):
    ramp = np.tile(np.linspace(0, 255, 16, dtype=np.uint8)[None, :, None], (16, 1, 3))
    for i in range(24):
        _write(tmp_path / f"{i:03d}.png", np.roll(ramp, i, axis=1))

    def images(seed):
        dataset = load_domain(
            f"folder:{tmp_path}",
            image_size=16,
            batch_size=4,
            augment="rotate,shift",
            max_rotation_degrees=30,
            shuffle=False,
            repeat=False,
            seed=seed,
        )
        return np.concatenate([b.numpy() for b in dataset])

    first, again, other = images(1), images(1), images(2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_cached_epochs_do_not_reread_files_and_are_reshuffled(tmp_path):
    _folder_of_solids(tmp_path, range(0, 250, 10))
    dataset = load_domain(f"folder:{tmp_path}", image_size=4, batch_size=25, repeat=False, seed=3)
    first = [b.numpy()[:, 0, 0, 0] for b in dataset]
    for path in tmp_path.glob("*.png"):
        path.unlink()
    second = [b.numpy()[:, 0, 0, 0] for b in dataset]
    assert sorted(first[0]) == sorted(second[0]) and len(set(first[0])) == 25
    assert not np.array_equal(first[0], second[0])


def test_metadata_batches_carry_attributes_landmarks_and_masks():
    dataset = load_domain(
        "synthetic:photo:8", image_size=32, batch_size=4, with_metadata=True, augment="flip", repeat=False
    )
    batch = next(iter(dataset))
    assert batch["image"].shape == (4, 32, 32, 3)
    assert batch["landmarks"].shape == (4, 5, 2)
    assert batch["mask"].shape == (4, 32, 32, 1)
    assert all(v.shape == (4,) for v in batch["attributes"].values())


def test_white_background_keeps_the_subject_and_whitens_the_rest():
    common = dict(image_size=32, batch_size=4, with_metadata=True, repeat=False, normalize=False)
    kept = next(iter(load_domain("synthetic:photo:4", **common)))
    painted = next(iter(load_domain("synthetic:photo:4", background="white", **common)))
    subject = kept["mask"].numpy()[..., 0] == 255
    assert 0.1 < subject.mean() < 0.9
    np.testing.assert_array_equal(painted["image"].numpy()[subject], kept["image"].numpy()[subject])
    assert np.all(painted["image"].numpy()[~subject] == 255)
    assert np.any(kept["image"].numpy()[~subject] < 200)  # the cluttered background that was painted over
    np.testing.assert_array_equal(painted["mask"], kept["mask"])


def test_white_background_of_a_folder_without_masks_comes_from_the_person_segmenter(
    synthetic_photo_folder, face_models
):
    batch = next(
        iter(
            load_domain(
                f"folder:{synthetic_photo_folder}",
                image_size=128,
                batch_size=8,
                background="white",
                normalize=False,
                shuffle=False,
            )
        )
    ).numpy()
    for index, painted in enumerate(batch):
        image = synthetic.make_record("photo", 0, index, 128)["image"]
        alpha = face_models.segmenter.person_mask(image)[..., None]
        np.testing.assert_allclose(painted, np.round(image * alpha + 255 * (1 - alpha)), atol=1)
        assert np.all(painted[alpha[..., 0] < 0.01] >= 250)


def test_white_background_without_masks_or_segmenter_says_how_to_fetch_it(tmp_path, monkeypatch):
    _folder_of_solids(tmp_path / "photos", [1])
    monkeypatch.setenv("XGAN_TOOLKIT_MODELS", str(tmp_path / "no_models"))
    with pytest.raises(ValueError, match=r"no foreground masks and the person segmenter is missing.*models fetch"):
        load_domain(f"folder:{tmp_path / 'photos'}", background="white")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"crop": "square"}, "crop"),
        ({"background": "black"}, "background"),
        ({"augment": "flip,zoom"}, "zoom"),
        ({"augment": "random_crop"}, "load_size"),
    ],
)
def test_bad_options_are_rejected_by_name(tmp_path, kwargs, message):
    _folder_of_solids(tmp_path, [1])
    with pytest.raises(ValueError, match=message):
        load_domain(f"folder:{tmp_path}", **kwargs)


def test_unpaired_repeats_the_shorter_domain():
    a = tf.data.Dataset.range(5)
    b = tf.data.Dataset.range(2)
    assert [(int(x), int(y)) for x, y in unpaired(a, b)] == [(0, 0), (1, 1), (2, 0), (3, 1), (4, 0)]
    assert [(int(x), int(y)) for x, y in unpaired(b, a)][-1] == (0, 4)
    endless = unpaired(a.repeat(), b)
    assert endless.cardinality() == tf.data.INFINITE_CARDINALITY
