"""Procedural face domains: one attribute space drawn as a cartoon and as a photo.

No face data set can be downloaded everywhere, so the project renders its own.
Record `index` of seed `seed` is a person: attributes sampled from
`np.random.default_rng([seed, index])` (see `VARIANT_NAMES`). The same person is
drawn in two domains:

  cartoon  Cartoon-Set-like: flat colours, dark outlines, white background,
           centred, the head filling the middle ~60% of the image.
  photo    shaded and textured, with neck and shoulders, a cluttered background
           (gradients, stripes, shapes), varied lighting and colour cast, sensor
           noise and pose jitter (shift, scale, in-plane rotation).

so photo i and cartoon i form a paired test set. Every record also has 5
landmarks in CelebA order (x, y in pixel-index coordinates: the centre of pixel
(row i, column j) is (j, i)) and a head mask (face, ears, hair, neck, glasses).
Everything is a pure function of (seed, index, size); the photo's scene (pose,
light, background) does not depend on the size either, so a record rendered at
64 and at 128 px is the same picture.

The package is layered: `attributes` (the person) -> `geometry`, `hair`, `features`
(shapes, in pixels) -> `canvas`, `colours`, `head` (drawing) -> `cartoon`, `photo_scene`,
`photo` (the two looks) -> `records` (one record) -> `dataset` (tf.data), `files` and
`preview` (output) -> `__main__` (the CLI: python -m preprocessing.synthetic --help).
This module re-exports what the rest of the project uses.
"""

from preprocessing.annotation_table import ANNOTATIONS_FILE
from preprocessing.synthetic.attributes import (
    ATTRIBUTE_VARIANTS,
    DOMAINS,
    LANDMARK_NAMES,
    VARIANT_NAMES,
    check_attributes,
    check_domain,
    sample_attributes,
)
from preprocessing.synthetic.dataset import as_dataset
from preprocessing.synthetic.files import FILE_PREFIX, write_records
from preprocessing.synthetic.preview import (
    PREVIEW_CELL,
    PREVIEW_COUNT,
    PREVIEW_LABEL_WIDTH,
    PREVIEW_ROWS,
    preview_image,
)
from preprocessing.synthetic.records import make_record, render

__all__ = [
    "ANNOTATIONS_FILE",
    "ATTRIBUTE_VARIANTS",
    "DOMAINS",
    "FILE_PREFIX",
    "LANDMARK_NAMES",
    "PREVIEW_CELL",
    "PREVIEW_COUNT",
    "PREVIEW_LABEL_WIDTH",
    "PREVIEW_ROWS",
    "VARIANT_NAMES",
    "as_dataset",
    "check_attributes",
    "check_domain",
    "make_record",
    "preview_image",
    "render",
    "sample_attributes",
    "write_records",
]
