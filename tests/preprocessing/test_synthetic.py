"""Tests of the procedural face domains (preprocessing.synthetic) and their CLI."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow as tf

from preprocessing import cartoonset, image_io, synthetic

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRED_ATTRIBUTES = (
    "face_shape",
    "skin_tone",
    "hair_style",
    "hair_color",
    "eye_color",
    "glasses",
    "facial_hair",
    "eyebrow_thickness",
    "mouth_expression",
)
WHITE = 255


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preprocessing.synthetic", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def with_attributes(index: int = 0, **overrides) -> dict[str, int]:
    return {**synthetic.sample_attributes(0, index), **overrides}


def changed_pixels(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """HxW bool: where two renderings differ by more than a few levels."""
    return np.abs(first.astype(np.int16) - second.astype(np.int16)).max(axis=-1) > 8


# --------------------------------------------------------------------------- the attribute space


def test_attribute_space_has_the_required_attributes_with_few_variants_each():
    assert set(REQUIRED_ATTRIBUTES) <= set(synthetic.ATTRIBUTE_VARIANTS)
    assert all(3 <= variants <= 7 for variants in synthetic.ATTRIBUTE_VARIANTS.values())
    assert synthetic.VARIANT_NAMES["glasses"][0] == synthetic.VARIANT_NAMES["facial_hair"][0] == "none"
    assert synthetic.DOMAINS == ("cartoon", "photo")
    assert synthetic.LANDMARK_NAMES == ("lefteye", "righteye", "nose", "leftmouth", "rightmouth")


def test_sampled_attributes_are_in_range_and_cover_every_variant():
    samples = [synthetic.sample_attributes(7, index) for index in range(300)]
    for name, variants in synthetic.ATTRIBUTE_VARIANTS.items():
        assert {sample[name] for sample in samples} == set(range(variants)), name


# --------------------------------------------------------------------------- records


@pytest.mark.parametrize("domain", synthetic.DOMAINS)
@pytest.mark.parametrize("size", [32, 64, 128])
def test_record_shapes_and_dtypes(domain, size):
    record = synthetic.make_record(domain, seed=0, index=3, size=size)
    assert record["image"].shape == (size, size, 3) and record["image"].dtype == np.uint8
    assert record["landmarks"].shape == (5, 2) and record["landmarks"].dtype == np.float32
    assert record["mask"].shape == (size, size) and record["mask"].dtype == np.uint8
    assert set(np.unique(record["mask"])) == {0, 255}
    assert list(record["attributes"]) == list(synthetic.ATTRIBUTE_VARIANTS)


@pytest.mark.parametrize("domain", synthetic.DOMAINS)
def test_records_are_a_pure_function_of_seed_index_and_size(domain):
    first = synthetic.make_record(domain, seed=4, index=11, size=64)
    synthetic.make_record(domain, seed=4, index=12, size=128)  # must not disturb anything
    again = synthetic.make_record(domain, seed=4, index=11, size=64)
    for key in ("image", "landmarks", "mask"):
        assert first[key].tobytes() == again[key].tobytes(), key
    assert first["attributes"] == again["attributes"]
    for other in (synthetic.make_record(domain, 4, 12, 64), synthetic.make_record(domain, 5, 11, 64)):
        assert not np.array_equal(first["image"], other["image"])


def test_record_i_is_the_same_person_in_both_domains():
    for index in range(20):
        cartoon = synthetic.make_record("cartoon", 9, index)
        photo = synthetic.make_record("photo", 9, index)
        assert cartoon["attributes"] == photo["attributes"] == synthetic.sample_attributes(9, index)


def test_a_photo_is_the_same_picture_at_every_size():
    small = synthetic.make_record("photo", 0, 5, size=64)
    large = synthetic.make_record("photo", 0, 5, size=128)
    # Pixel-index coordinates: x_128 = (x_64 + 0.5) * 2 - 0.5.
    np.testing.assert_allclose(large["landmarks"], (small["landmarks"] + 0.5) * 2 - 0.5, atol=1e-3)
    downsized = cv2.resize(large["image"], (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.abs(downsized - small["image"]).mean() < 12


@pytest.mark.parametrize("domain", synthetic.DOMAINS)
def test_landmarks_are_in_celeba_order_on_the_face(domain):
    for index in range(40):
        record = synthetic.make_record(domain, 1, index, size=64)
        (left_eye, right_eye, nose, left_mouth, right_mouth) = record["landmarks"]
        assert np.all((record["landmarks"] >= 0) & (record["landmarks"] <= 63))
        assert left_eye[0] < right_eye[0] and left_mouth[0] < right_mouth[0]
        # Photos are rotated by at most 12 degrees: still upright enough for this order.
        assert (left_eye[1] + right_eye[1]) / 2 < nose[1] < (left_mouth[1] + right_mouth[1]) / 2
        columns, rows = np.rint(record["landmarks"]).astype(int).T
        assert np.all(record["mask"][rows, columns] == 255), f"record {index}: landmark off the mask"


def test_cartoons_are_centred_on_a_white_background():
    for index in range(20):
        record = synthetic.make_record("cartoon", 2, index, size=64)
        # Outlines and anti-aliasing may reach 2 px past the head mask, nothing further.
        near_head = cv2.dilate(record["mask"], np.ones((5, 5), np.uint8)) > 0
        assert np.all(record["image"][~near_head] == WHITE)
        rows, columns = np.nonzero(record["mask"])
        assert abs((columns.min() + columns.max()) / 2 - 31.5) < 2
        assert abs((rows.min() + rows.max()) / 2 - 31.5) < 6
        # Like the Cartoon Set, the head (with its hair) spans roughly the middle 60%.
        assert 0.35 * 64 < columns.max() - columns.min() < 0.85 * 64
        assert 0.45 * 64 < rows.max() - rows.min() < 0.9 * 64


def test_photo_backgrounds_are_cluttered_and_varied():
    photos = [synthetic.make_record("photo", 3, index, size=64)["image"] for index in range(20)]
    top_rows = np.stack([photo[:6] for photo in photos])
    spreads = top_rows.reshape(20, -1, 3).std(axis=1).max(axis=1)
    assert spreads.min() > 2 and np.median(spreads) > 8  # never one flat colour
    assert top_rows.reshape(20, -1, 3).mean(axis=1).std(axis=0).min() > 10  # different from photo to photo


# --------------------------------------------------------------------------- one attribute at a time


def eye_nose_mouth_rows(landmarks: np.ndarray) -> tuple[float, float, float]:
    return landmarks[:2, 1].mean(), landmarks[2, 1], landmarks[3:, 1].mean()


@pytest.mark.parametrize("domain", synthetic.DOMAINS)
def test_hair_color_changes_only_hair_and_eyebrows(domain):
    base = with_attributes(hair_style=1, facial_hair=0, hair_color=0)
    black = synthetic.render(domain, base, 128, seed=0, index=1)
    blonde = synthetic.render(domain, {**base, "hair_color": 2}, 128, seed=0, index=1)
    changed = changed_pixels(black["image"], blonde["image"])
    eyes, nose, _ = eye_nose_mouth_rows(black["landmarks"])
    rows = np.nonzero(changed)[0]
    assert changed.sum() > 200
    assert np.all(rows < nose) and np.mean(rows < eyes) > 0.8


@pytest.mark.parametrize("domain", synthetic.DOMAINS)
def test_skin_tone_changes_the_face_not_the_background(domain):
    base = with_attributes(skin_tone=0)
    pale = synthetic.render(domain, base, 128, seed=0, index=2)
    dark = synthetic.render(domain, {**base, "skin_tone": 4}, 128, seed=0, index=2)
    changed = changed_pixels(pale["image"], dark["image"])
    near_head = cv2.dilate(pale["mask"], np.ones((7, 7), np.uint8)) > 0
    assert changed.sum() > 500 and not np.any(changed & ~near_head)
    left_eye, _, nose, left_mouth, _ = pale["landmarks"]
    cheek = np.rint((left_eye + left_mouth) / 2 + (nose - left_eye) * [0.0, 0.25]).astype(int)
    assert changed[cheek[1], cheek[0]]


@pytest.mark.parametrize("domain", synthetic.DOMAINS)
@pytest.mark.parametrize("glasses", [1, 2, 3])
def test_glasses_change_only_the_eye_band(domain, glasses):
    base = with_attributes(index=3, glasses=0)
    plain = synthetic.render(domain, base, 128, seed=0, index=3)
    framed = synthetic.render(domain, {**base, "glasses": glasses}, 128, seed=0, index=3)
    changed = changed_pixels(plain["image"], framed["image"])
    eyes, nose, _ = eye_nose_mouth_rows(plain["landmarks"])
    eye_distance = np.linalg.norm(plain["landmarks"][1] - plain["landmarks"][0])
    rows = np.nonzero(changed)[0]
    assert changed.sum() > 50
    assert np.all(np.abs(rows - eyes) < 0.75 * eye_distance) and np.all(rows < nose)


@pytest.mark.parametrize("domain", synthetic.DOMAINS)
def test_mouth_expression_changes_only_the_mouth(domain):
    base = with_attributes(index=4, mouth_expression=0, facial_hair=0)
    neutral = synthetic.render(domain, base, 128, seed=0, index=4)
    grin = synthetic.render(domain, {**base, "mouth_expression": 2}, 128, seed=0, index=4)
    changed = changed_pixels(neutral["image"], grin["image"])
    _, nose, mouth = eye_nose_mouth_rows(neutral["landmarks"])
    rows = np.nonzero(changed)[0]
    assert changed.sum() > 30 and np.all(rows > nose)
    assert np.all(np.abs(rows - mouth) < 0.6 * (mouth - nose) + 6)


@pytest.mark.parametrize("domain", synthetic.DOMAINS)
def test_every_variant_of_every_attribute_looks_different(domain):
    base = synthetic.sample_attributes(0, 8)
    base.update(hair_style=1, glasses=0)  # so that eye and hair colours are visible
    for name, variants in synthetic.ATTRIBUTE_VARIANTS.items():
        images = [
            synthetic.render(domain, {**base, name: value}, 64, seed=0, index=8)["image"] for value in range(variants)
        ]
        for first in range(variants):
            for second in range(first + 1, variants):
                assert changed_pixels(images[first], images[second]).sum() >= 3, (name, first, second)


@pytest.mark.parametrize(
    "call",
    [
        lambda: synthetic.make_record("anime", 0, 0),
        lambda: synthetic.render("anime", synthetic.sample_attributes(0, 0)),
        lambda: synthetic.as_dataset("anime"),
    ],
)
def test_unknown_domains_are_rejected_naming_the_valid_ones(call):
    with pytest.raises(ValueError, match="anime.*cartoon, photo"):
        call()


@pytest.mark.parametrize(
    "attributes, message",
    [
        ({"face_shape": 0}, "missing attributes: skin_tone"),
        ({**synthetic.sample_attributes(0, 0), "glasses": 4}, r"glasses = 4 is outside \[0, 4\)"),
    ],
)
def test_render_rejects_invalid_attributes(attributes, message):
    with pytest.raises(ValueError, match=message):
        synthetic.render("cartoon", attributes)


# --------------------------------------------------------------------------- tf.data


def test_as_dataset_yields_the_documented_elements_matching_make_record():
    dataset = synthetic.as_dataset("photo", size=32, seed=6, count=3)
    spec = dataset.element_spec
    assert spec["image"] == tf.TensorSpec([32, 32, 3], tf.uint8)
    assert spec["landmarks"] == tf.TensorSpec([5, 2], tf.float32)
    assert spec["mask"] == tf.TensorSpec([32, 32, 1], tf.uint8)
    assert spec["attributes"] == {name: tf.TensorSpec([], tf.int32) for name in synthetic.ATTRIBUTE_VARIANTS}
    assert dataset.cardinality() == 3
    elements = list(dataset.as_numpy_iterator())
    assert len(elements) == 3
    for index, element in enumerate(elements):
        record = synthetic.make_record("photo", 6, index, size=32)
        np.testing.assert_array_equal(element["image"], record["image"])
        np.testing.assert_array_equal(element["landmarks"], record["landmarks"])
        np.testing.assert_array_equal(element["mask"][..., 0], record["mask"])
        assert {name: int(value) for name, value in element["attributes"].items()} == record["attributes"]


def test_as_dataset_without_count_is_endless_from_index_zero():
    dataset = synthetic.as_dataset("cartoon", size=32, seed=1)
    assert dataset.cardinality() == tf.data.INFINITE_CARDINALITY
    first_two = [element["image"] for element in dataset.take(2).as_numpy_iterator()]
    for index, image in enumerate(first_two):
        np.testing.assert_array_equal(image, synthetic.make_record("cartoon", 1, index, size=32)["image"])


# --------------------------------------------------------------------------- CLI


def test_cli_writes_cartoons_with_cartoon_set_attribute_files(tmp_path):
    (tmp_path / "notes.txt").write_text("not ours")
    result = run_cli(
        "--domain", "cartoon", "--count", 3, "--size", 48, "--seed", 2, "--start_index", 5, "--out", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 3 cartoon faces" in result.stdout and len(result.stdout.strip().splitlines()) == 1
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == [
        "cs000005.csv",
        "cs000005.png",
        "cs000006.csv",
        "cs000006.png",
        "cs000007.csv",
        "cs000007.png",
        "notes.txt",
    ]
    assert (tmp_path / "notes.txt").read_text() == "not ours"
    for index in (5, 6, 7):
        record = synthetic.make_record("cartoon", 2, index, size=48)
        np.testing.assert_array_equal(image_io.read_rgb(tmp_path / f"cs{index:06d}.png"), record["image"])
        written = cartoonset.read_attribute_file(tmp_path / f"cs{index:06d}.csv")
        assert written == {
            name: (value, synthetic.ATTRIBUTE_VARIANTS[name]) for name, value in record["attributes"].items()
        }


def test_cli_writes_photos_and_extends_their_annotation_table(tmp_path):
    for start, count in ((0, 2), (2, 1)):
        result = run_cli("--domain", "photo", "--count", count, "--size", 40, "--start_index", start, "--out", tmp_path)
        assert result.returncode == 0, result.stderr
    with (tmp_path / "annotations.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["image_id"] for row in rows] == ["000000.png", "000001.png", "000002.png"]
    assert list(rows[0])[:3] == ["image_id", "lefteye_x", "lefteye_y"]
    for index, row in enumerate(rows):
        record = synthetic.make_record("photo", 0, index, size=40)
        np.testing.assert_array_equal(image_io.read_rgb(tmp_path / row["image_id"]), record["image"])
        landmarks = [float(row[f"{name}_{axis}"]) for name in synthetic.LANDMARK_NAMES for axis in "xy"]
        np.testing.assert_allclose(landmarks, record["landmarks"].reshape(-1), atol=0.051)
        assert {name: int(row[name]) for name in synthetic.ATTRIBUTE_VARIANTS} == record["attributes"]


def test_cli_preview_shows_both_domains_at_both_sizes(tmp_path):
    path = tmp_path / "preview.png"
    result = run_cli("--preview", path)
    assert result.returncode == 0, result.stderr
    preview = image_io.read_rgb(path)
    rows, count, cell = len(synthetic.PREVIEW_ROWS), synthetic.PREVIEW_COUNT, synthetic.PREVIEW_CELL
    assert preview.shape == (rows * cell, synthetic.PREVIEW_LABEL_WIDTH + count * cell, 3)
    first_cartoon_128 = preview[3 * cell :, synthetic.PREVIEW_LABEL_WIDTH : synthetic.PREVIEW_LABEL_WIDTH + cell]
    expected = synthetic.make_record("cartoon", 0, 0, size=128)["image"]
    np.testing.assert_array_equal(first_cartoon_128, expected)


def test_cli_without_an_output_folder_is_a_usage_error(tmp_path):
    result = run_cli("--domain", "photo", "--count", 2)
    assert result.returncode != 0
    assert "--out" in result.stderr


def test_cli_paints_photo_backgrounds_white_outside_each_mask(tmp_path):
    result = run_cli("--domain", "photo", "--count", 2, "--size", 40, "--background", "white", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    for index in (0, 1):
        record = synthetic.make_record("photo", 0, index, size=40)
        written = image_io.read_rgb(tmp_path / f"{index:06d}.png")
        mask = record["mask"]
        assert np.all(written[mask == 0] == 255) and 0 < np.mean(mask == 0) < 1
        np.testing.assert_array_equal(written[mask == 255], record["image"][mask == 255])
