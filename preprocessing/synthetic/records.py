"""One record: a person drawn in a domain, with its attributes, landmarks and head mask."""

from __future__ import annotations

from preprocessing.synthetic.attributes import (
    ATTRIBUTE_VARIANTS,
    SCENE_STREAM,
    check_attributes,
    check_domain,
    record_rng,
    sample_attributes,
)
from preprocessing.synthetic.cartoon import render_cartoon
from preprocessing.synthetic.photo import render_photo


def render(domain: str, attributes: dict[str, int], size: int = 64, seed: int = 0, index: int = 0) -> dict:
    """Draw the person of `attributes` in `domain` at `size` x `size`.

    The photo's scene and pixel noise come from (seed, index); the cartoon uses
    neither. Returns {"image": uint8 [size, size, 3], "attributes": dict,
    "landmarks": float32 [5, 2] (x, y), "mask": uint8 [size, size]}. Raises
    ValueError for an unknown domain, invalid attributes or size < 1.
    """
    check_domain(domain)
    check_attributes(attributes)
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    attributes = {name: int(attributes[name]) for name in ATTRIBUTE_VARIANTS}
    if domain == "cartoon":
        record = render_cartoon(attributes, size)
    else:
        record = render_photo(attributes, size, record_rng(seed, index, SCENE_STREAM))
    return {"attributes": attributes, **record}


def make_record(domain: str, seed: int, index: int, size: int = 64) -> dict:
    """Record `index` of `seed` in `domain`; the same person in every domain and size."""
    return render(domain, sample_attributes(seed, index), size, seed, index)
