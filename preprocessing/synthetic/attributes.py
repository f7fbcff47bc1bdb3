"""The attribute space of the synthetic faces: what a person is, sampled from (seed, index)."""

from __future__ import annotations

import numpy as np

from preprocessing import annotation_table

# name -> the names of its variants, in value order. Variant 0 of glasses and
# facial_hair is "none". eye_color is hard to see under sunglasses (the lenses
# are tinted, not opaque) and hair_color of a bald person shows only in the
# eyebrows and facial hair.
VARIANT_NAMES: dict[str, tuple[str, ...]] = {
    "face_shape": ("oval", "round", "long", "square", "heart"),
    "skin_tone": ("pale", "light", "medium", "tan", "dark"),
    "hair_style": ("bald", "short", "spiky", "long", "bob", "afro", "puffs"),
    "hair_color": ("black", "brown", "blonde", "red", "grey"),
    "eye_color": ("brown", "blue", "green", "grey"),
    "glasses": ("none", "round", "square", "sunglasses"),
    "facial_hair": ("none", "moustache", "goatee", "beard"),
    "eyebrow_thickness": ("thin", "medium", "thick"),
    "mouth_expression": ("neutral", "smile", "grin", "surprised"),
}
ATTRIBUTE_VARIANTS: dict[str, int] = {name: len(names) for name, names in VARIANT_NAMES.items()}
DOMAINS = ("cartoon", "photo")
LANDMARK_NAMES = annotation_table.LANDMARK_NAMES

# The two random streams of a record: its attributes (shared by the domains)
# and the photo's scene followed by its pixel noise.
ATTRIBUTE_STREAM, SCENE_STREAM = (), (1,)


def check_domain(domain: str) -> None:
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; expected one of {', '.join(DOMAINS)}")


def record_rng(seed: int, index: int, stream: tuple[int, ...]) -> np.random.Generator:
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    return np.random.default_rng([seed, index, *stream])


def sample_attributes(seed: int, index: int) -> dict[str, int]:
    """The attributes of record `index` of `seed`: each variant equally likely."""
    rng = record_rng(seed, index, ATTRIBUTE_STREAM)
    values = rng.integers(0, list(ATTRIBUTE_VARIANTS.values()))
    return dict(zip(ATTRIBUTE_VARIANTS, values.tolist()))


def check_attributes(attributes: dict[str, int]) -> None:
    """Raise ValueError unless `attributes` gives every attribute a valid variant."""
    missing = [name for name in ATTRIBUTE_VARIANTS if name not in attributes]
    if missing:
        raise ValueError(f"missing attributes: {', '.join(missing)}")
    for name, variants in ATTRIBUTE_VARIANTS.items():
        if not 0 <= int(attributes[name]) < variants:
            raise ValueError(f"{name} = {attributes[name]} is outside [0, {variants})")
