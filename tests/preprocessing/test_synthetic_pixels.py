"""Pins the pixels of a few synthetic records, so reorganising the renderer cannot change what it draws.

Each hash is the SHA-256 of the array's bytes (C order) for one (domain, seed, index, size): the
image, the landmarks and the mask. They were computed with the renderer as a single module and
must match after any refactoring that is meant to leave the pictures alone. A deliberate change
of the drawing updates them in the same commit, and says so.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from preprocessing import synthetic

# (domain, seed, index, size) -> SHA-256 of (image, landmarks, mask). Record (1, 5) wears sunglasses.
PINNED = {
    ("cartoon", 0, 0, 64): (
        "172b46a149ffc81518cc550e4fd1b54794a6bff0cc11efc3e85fc8933c636745",
        "2901e856fae54229e94b90c94a1adf9fc39227818da1b247c7001562c2789ce2",
        "48dea454cca8ccf612ba8318dbf714645a2f3cc9fab88a28d995b58f3e647954",
    ),
    ("cartoon", 1, 5, 128): (
        "f4a6b6105dd3fd5376f6c62b938d8d2a446a04377b8f603ae3b447d053efa35d",
        "9b65bdecbe294c73dfa420d8d5b487376e7797f19e006e6be8804b12c8bca9e8",
        "3566d36c0b6f2cdfd2ef4a1596379ec937ac281c3a6b969ea5303e65f8b2e4f1",
    ),
    ("cartoon", 3, 17, 128): (
        "ce4ee5449cee338797ec1a3b114de08b3cdd3cf23c79df7348bb53ea4d47a372",
        "85b416c1cae012d06661eec3888fddae2ee0f02b4aef86c706554f414aa29017",
        "c7f1896231faa37ff16ebabe781a0da1e26719f337debdded1f3dccb9f846df1",
    ),
    ("photo", 0, 0, 64): (
        "55653374e3d14f1e13c0d1624debd15647a9c32272adad809a3758da2c446132",
        "c314564b01cac2f1a10ecb3101564a87662eda7e43f175a68fa9bfc2fd45e05f",
        "de7a09c0badf34dd51e0c4e0e48822cdd65b17b9768f4a90d3254e6f6dc3c9ed",
    ),
    ("photo", 1, 5, 64): (
        "71eedca3ac5bdfad9852f0384fd335c426eb069f464debbfa9026802e1f4b1f6",
        "317d7ca633c84f729850a762e4c7a7c3ccea8d026c6d74a4a51e2935b9aab21b",
        "9f7013f7b8ff557cf1f5a2777cdf19b9901e02e0e35d821161e29ab2700df79a",
    ),
    ("photo", 3, 17, 128): (
        "971a8e14cec589603a03d6a0268ceb63b938f278ae82c82ed50aca0cbe579099",
        "70b6456551737815f0bd7bf3a7ad23482a4a2085beabc016c1d57f1d7d135ae3",
        "d836618882c7cc7def7ea2c0c49c89b521b7824c4641d0db3500e8e0e735d5e7",
    ),
}
SHAPES = {"image": lambda size: (size, size, 3), "landmarks": lambda size: (5, 2), "mask": lambda size: (size, size)}


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@pytest.mark.parametrize(("domain", "seed", "index", "size"), list(PINNED))
def test_rendered_record_matches_its_pinned_hashes(domain, seed, index, size):
    record = synthetic.make_record(domain, seed, index, size)
    for key, expected in zip(("image", "landmarks", "mask"), PINNED[domain, seed, index, size], strict=True):
        assert record[key].shape == SHAPES[key](size), key
        assert sha256(record[key]) == expected, f"{key} of {domain} ({seed}, {index}) at {size} px changed"
