"""The pool behind finite synthetic sources: rows equal to make_record, saved once, reloaded, re-rendered if damaged."""

from __future__ import annotations

import numpy as np
import pytest

from preprocessing import synthetic
from preprocessing.synthetic import pool

SIZE, SEED, COUNT = 32, 4, 5


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty pool cache in tmp_path that saves pools of 2 records or more."""
    monkeypatch.setenv(pool.CACHE_DIR_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setattr(pool, "CACHE_MIN_RECORDS", 2)
    return tmp_path / "cache"


def assert_pool_matches_make_record(records: dict, domain: str) -> None:
    assert len(records["image"]) == COUNT
    for index in range(COUNT):
        record = synthetic.make_record(domain, SEED, index, SIZE)
        np.testing.assert_array_equal(records["image"][index], record["image"])
        np.testing.assert_array_equal(records["landmarks"][index], record["landmarks"])
        np.testing.assert_array_equal(records["mask"][index, ..., 0], record["mask"])
        assert dict(zip(synthetic.ATTRIBUTE_VARIANTS, records["attributes"][index].tolist())) == record["attributes"]


def refuse_to_render(*arguments):
    raise AssertionError("rendered although the pool is saved")


@pytest.mark.parametrize("domain", synthetic.DOMAINS)
def test_a_pool_holds_the_records_make_record_draws(domain, monkeypatch):
    monkeypatch.setattr(pool, "CACHE_MIN_RECORDS", COUNT + 1)  # rendered, not cached
    assert_pool_matches_make_record(pool.pool_arrays(domain, SIZE, SEED, COUNT), domain)


def test_a_large_pool_is_saved_once_and_memory_mapped_by_the_next_run(cache, monkeypatch):
    first = pool.pool_arrays("photo", SIZE, SEED, COUNT)
    folders = list(cache.iterdir())
    assert [folder.name for folder in folders] == [pool.pool_folder("photo", SIZE, SEED, COUNT).name]
    assert sorted(path.name for path in folders[0].iterdir()) == sorted(f"{field}.npy" for field in pool.FIELDS)

    monkeypatch.setattr(pool, "make_record", refuse_to_render)
    second = pool.pool_arrays("photo", SIZE, SEED, COUNT)
    assert all(isinstance(second[field], np.memmap) for field in pool.FIELDS)
    assert_pool_matches_make_record(second, "photo")
    for field in pool.FIELDS:
        np.testing.assert_array_equal(second[field], first[field])


def test_pools_of_another_domain_size_seed_or_count_are_saved_apart(cache):
    for domain, size, seed, count in (("photo", SIZE, SEED, 2), ("cartoon", SIZE, SEED, 2), ("photo", 16, SEED, 2)):
        pool.pool_arrays(domain, size, seed, count)
    pool.pool_arrays("photo", SIZE, SEED + 1, 2)
    assert len(list(cache.iterdir())) == 4


def test_a_damaged_saved_pool_is_rendered_again_and_replaced(cache, caplog):
    pool.pool_arrays("cartoon", SIZE, SEED, COUNT)
    image_file = pool.pool_folder("cartoon", SIZE, SEED, COUNT) / "image.npy"
    image_file.write_bytes(image_file.read_bytes()[:-100])  # cut short, as a full disk leaves it
    records = pool.pool_arrays("cartoon", SIZE, SEED, COUNT)
    assert "rendering again" in caplog.text
    assert_pool_matches_make_record(records, "cartoon")
    assert_pool_matches_make_record(pool.load_pool(image_file.parent, SIZE, COUNT), "cartoon")


def test_a_finite_synthetic_source_serves_its_pool(cache, monkeypatch):
    pool.pool_arrays("photo", SIZE, SEED, COUNT)
    monkeypatch.setattr(pool, "make_record", refuse_to_render)
    elements = list(synthetic.as_dataset("photo", size=SIZE, seed=SEED, count=COUNT).as_numpy_iterator())
    served = {field: np.stack([element[field] for element in elements]) for field in ("image", "landmarks", "mask")}
    served["attributes"] = np.array(
        [[element["attributes"][name] for name in synthetic.ATTRIBUTE_VARIANTS] for element in elements]
    )
    assert_pool_matches_make_record(served, "photo")
