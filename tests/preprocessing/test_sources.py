import logging
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from preprocessing import cartoonset
from preprocessing.sources import SourceError, load_source


def _write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _solid(value, shape=(20, 30, 3)):
    return np.full(shape, value, np.uint8)


def _images(source) -> list[np.ndarray]:
    return [record["image"].numpy() for record in source.dataset]


def test_folder_source_reads_every_image_recursively(tmp_path):
    _write(tmp_path / "a.png", _solid(10))
    _write(tmp_path / "sub" / "b.JPG", _solid(128))
    _write(tmp_path / "sub" / "deeper" / "c.bmp", _solid(250, (8, 8)))
    (tmp_path / "notes.txt").write_text("not an image")
    source = load_source(f"folder:{tmp_path}")
    images = _images(source)
    assert source.num_records == 3
    assert sorted(image.shape for image in images) == [(8, 8, 3), (20, 30, 3), (20, 30, 3)]


def test_folder_source_skips_unreadable_files_and_names_them(tmp_path, caplog):
    _write(tmp_path / "good.png", _solid(40))
    truncated = tmp_path / "truncated.png"
    noise = _write(tmp_path / "noise.png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    truncated.write_bytes(noise.read_bytes()[:300])
    (tmp_path / "text.png").write_text("I am not a PNG")
    caplog.set_level(logging.WARNING)
    source = load_source(f"folder:{tmp_path}")
    images = _images(source)
    assert len(images) == 2
    assert sorted(source.skipped.skipped) == [str(tmp_path / "text.png"), str(truncated)]
    assert "skipped 2 of 4" in caplog.text
    assert "truncated.png" in caplog.text and "text.png" in caplog.text


@pytest.mark.parametrize("spec", ["folder:{empty}", "folder:{missing}", "cartoonset:{empty}"])
def test_empty_or_missing_folder_raises_naming_the_path(tmp_path, spec):
    empty = tmp_path / "empty"
    empty.mkdir()
    spec = spec.format(empty=empty, missing=tmp_path / "missing")
    with pytest.raises(SourceError, match=str(tmp_path)):
        load_source(spec)


@pytest.mark.parametrize("spec", ["nope:x", "folder:", "tfds:celeb_a", "synthetic:anime", "synthetic:cartoon:0"])
def test_malformed_specs_raise_clear_errors(spec):
    with pytest.raises(SourceError, match="expected|missing|COUNT"):
        load_source(spec)


def _cartoon(path: Path, colour, attributes: dict | None):
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[10:30, 10:30] = [*colour, 255]  # opaque face on a transparent background
    _write(path, rgba)
    if attributes is not None:
        variants = {name: cartoonset.CARTOONSET_ATTRIBUTES[name] for name in attributes}
        cartoonset.write_attribute_file(cartoonset.csv_path_for(path), attributes, variants)


def test_cartoonset_source_composites_on_white_and_parses_attributes(tmp_path):
    # The 100k set is split into folders 0-9.
    _cartoon(tmp_path / "0" / "cs1.png", (200, 0, 0), {"hair": 84, "face_color": 3, "glasses": 11})
    _cartoon(tmp_path / "1" / "cs2.png", (0, 200, 0), {"hair": 2, "face_color": 10, "glasses": 0})
    _cartoon(tmp_path / "1" / "cs3.png", (0, 0, 200), None)
    records = list(load_source(f"cartoonset:{tmp_path}").dataset.as_numpy_iterator())
    by_colour = {tuple(r["image"][20, 20]): r for r in records}
    assert set(by_colour) == {(200, 0, 0), (0, 200, 0), (0, 0, 200)}
    for record in records:
        np.testing.assert_array_equal(record["image"][0, 0], [255, 255, 255])
        assert set(record["attributes"]) == set(cartoonset.CARTOONSET_ATTRIBUTES)
    red, blue = by_colour[(200, 0, 0)]["attributes"], by_colour[(0, 0, 200)]["attributes"]
    assert (red["hair"], red["face_color"], red["glasses"]) == (84, 3, 11)
    assert red["eye_angle"] == -1  # not in this CSV
    assert all(value == -1 for value in blue.values())  # no CSV at all


def test_cartoonset_source_rejects_a_malformed_csv_without_crashing(tmp_path, caplog):
    _cartoon(tmp_path / "cs1.png", (9, 9, 9), None)
    (tmp_path / "cs1.csv").write_text('"hair", 500, 111\n')
    caplog.set_level(logging.WARNING)
    [record] = load_source(f"cartoonset:{tmp_path}").dataset.as_numpy_iterator()
    assert record["attributes"]["hair"] == -1
    assert "cs1.csv" in caplog.text


def test_synthetic_source_is_deterministic_and_sized(tmp_path):
    first = load_source("synthetic:cartoon:3", image_size=32, seed=5)
    second = load_source("synthetic:cartoon:3", image_size=32, seed=5)
    assert first.num_records == 3
    a, b = _images(first), _images(second)
    assert [x.shape for x in a] == [(32, 32, 3)] * 3
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    endless = load_source("synthetic:photo", image_size=32)
    assert endless.num_records is None
    assert endless.dataset.cardinality() == tf.data.INFINITE_CARDINALITY


def test_folder_source_on_the_mixed_folder_keeps_exactly_the_good_files(mixed_image_folder, caplog):
    caplog.set_level(logging.WARNING)
    source = load_source(f"folder:{mixed_image_folder.path}")
    images = _images(source)
    assert len(images) == len(mixed_image_folder.good)
    assert all(image.ndim == 3 and image.shape[-1] == 3 for image in images)
    skipped = sorted(Path(p).relative_to(mixed_image_folder.path).as_posix() for p in source.skipped.skipped)
    assert skipped == sorted(mixed_image_folder.bad)
    for name in mixed_image_folder.bad:
        assert name in caplog.text


def test_folder_source_reads_landmarks_and_attributes_of_annotations_csv(tmp_path):
    from preprocessing import synthetic

    synthetic.write_records("photo", 3, tmp_path, size=32, seed=0, start_index=0)
    records = list(load_source(f"folder:{tmp_path}").dataset)
    for index, record in enumerate(records):
        truth = synthetic.make_record("photo", 0, index, 32)
        np.testing.assert_allclose(record["landmarks"].numpy(), truth["landmarks"], atol=0.05)
        assert {name: int(value) for name, value in record["attributes"].items()} == truth["attributes"]


def test_folder_source_ignores_a_table_that_misses_images_and_says_so(tmp_path, caplog):
    from preprocessing import synthetic

    synthetic.write_records("photo", 2, tmp_path, size=32, seed=0, start_index=0)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "extra.png")
    records = list(load_source(f"folder:{tmp_path}").dataset)
    assert len(records) == 3 and all(set(record) == {"image"} for record in records)
    assert "lists 2 of 3 images" in caplog.text and "extra.png" in caplog.text
