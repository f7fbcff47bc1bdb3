"""Data sources: a spec string -> a tf.data stream of decoded uint8 RGB records.

Specs:
  folder:PATH                 every image under PATH (png, jpg, jpeg, bmp; recursive), with the
                              landmarks and attributes of PATH/annotations.csv when it lists them all
  cartoonset:PATH             a Cartoon Set folder (csNNN.png + csNNN.csv; 10k flat or 100k in 0-9)
  tfds:NAME[/CONFIG]:SPLIT    a TensorFlow Datasets split, e.g. tfds:celeb_a:train,
                              tfds:cycle_gan/horse2zebra:trainA, tfds:celeb_a:test[:1000]
  synthetic:DOMAIN[:COUNT]    the built-in procedural faces (cartoon | photo); without COUNT
                              endless, rendered as they are read; with COUNT, records
                              0 .. COUNT-1 rendered once before reading (pools of 1024 or
                              more are saved under ~/.cache/xgan-toolkit/synthetic, or
                              $SYNTHETIC_CACHE_DIR, and loaded from there next time)

Every record is a dict with "image" (HxWx3 uint8) and, where the source has
them, "attributes" ({name: int32}), "landmarks" (5x2 float32 (x, y) pixels in
CelebA order: lefteye, righteye, nose, leftmouth, rightmouth) and "mask"
(HxWx1 uint8, face + hair).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from preprocessing import annotation_table, cartoonset, image_io
from preprocessing.decode import SkippedFiles, decode_files, to_rgb

logger = logging.getLogger(__name__)

SPEC_HELP = "folder:PATH | cartoonset:PATH | tfds:NAME[/CONFIG]:SPLIT | synthetic:cartoon|photo[:COUNT]"
MISSING_ATTRIBUTE = -1


class SourceError(ValueError):
    """A source spec that cannot be loaded; the message says which and why."""


@dataclass
class Source:
    """A decoded, unbatched stream of records and what is known about it."""

    spec: str
    dataset: tf.data.Dataset
    num_records: int | None  # None: endless or unknown
    skipped: SkippedFiles | None = field(default=None, repr=False)


def load_source(
    spec: str,
    *,
    image_size: int = 64,
    seed: int = 0,
    shuffle_files: bool = False,
    tfds_data_dir: str | None = None,
    tfds_download: bool = True,
) -> Source:
    """Open the source named by `spec` (see the module docstring).

    `image_size` is the size synthetic faces are rendered at (file sources keep
    their own size). `shuffle_files` reshuffles the file order every pass.
    """
    kind, _, rest = spec.partition(":")
    if kind == "folder":
        return _folder_source(spec, rest, seed if shuffle_files else None)
    if kind == "cartoonset":
        return _cartoonset_source(spec, rest, seed if shuffle_files else None)
    if kind == "tfds":
        return _tfds_source(spec, rest, tfds_data_dir, tfds_download, shuffle_files)
    if kind == "synthetic":
        return _synthetic_source(spec, rest, image_size, seed)
    raise SourceError(f"{spec!r}: unknown source kind {kind!r}; expected {SPEC_HELP}")


def _list_images(spec: str, path: str) -> list[Path]:
    if not path:
        raise SourceError(f"{spec!r}: missing PATH")
    try:
        return image_io.list_images(path)
    except (FileNotFoundError, image_io.EmptySourceError) as error:
        raise SourceError(str(error)) from error


def _folder_source(spec: str, path: str, shuffle_seed: int | None) -> Source:
    files = _list_images(spec, path)
    per_file = _folder_annotations(spec, Path(path), files)
    dataset, skipped = decode_files([str(f) for f in files], per_file, shuffle_seed=shuffle_seed)
    return Source(spec, dataset, len(files), skipped)


def _folder_annotations(spec: str, folder: Path, files: list[Path]) -> dict:
    """{"landmarks": Nx5x2[, "attributes": {name: N}]} from folder/annotations.csv; {} without one.

    Landmarks are all or nothing: a batch mixing real and missing landmarks would
    mislead whatever uses them, so a table that misses images is ignored, with a warning.
    """
    table_path = folder / annotation_table.ANNOTATIONS_FILE
    try:
        header, rows = annotation_table.read_table(table_path)
    except annotation_table.AnnotationsError as error:
        raise SourceError(f"{spec!r}: {error}") from error
    if not rows:
        return {}
    fields = [rows.get(file.relative_to(folder).as_posix()) for file in files]
    missing = [file for file, row in zip(files, fields) if row is None]
    if missing:
        logger.warning(
            "%s lists %d of %d images (not %s, ...); their landmarks are not used",
            table_path,
            len(files) - len(missing),
            len(files),
            missing[0],
        )
        return {}
    try:
        annotations = {"landmarks": np.stack([annotation_table.landmarks_of(row) for row in fields])}
        attributes = [annotation_table.attributes_of(header, row) for row in fields]
    except ValueError as error:  # a field that is not a number
        raise SourceError(f"{spec!r}: {table_path}: {error}") from error
    if attributes[0]:
        annotations["attributes"] = {
            name: np.asarray([row[name] for row in attributes], np.int32) for name in attributes[0]
        }
    return annotations


def _cartoonset_source(spec: str, path: str, shuffle_seed: int | None) -> Source:
    files = [f for f in _list_images(spec, path) if f.suffix.lower() == ".png"]
    if not files:
        raise SourceError(f"{path}: no Cartoon Set PNG files found under this folder")
    attributes = _read_cartoonset_attributes(files)
    dataset, skipped = decode_files([str(f) for f in files], {"attributes": attributes}, shuffle_seed=shuffle_seed)
    return Source(spec, dataset, len(files), skipped)


def _read_attributes_or_none(image_path: Path) -> dict[str, int] | None:
    csv_path = cartoonset.csv_path_for(image_path)
    if not csv_path.exists():
        return None
    try:
        return {name: value for name, (value, _) in cartoonset.read_attribute_file(csv_path).items()}
    except (OSError, cartoonset.AttributeFileError) as error:
        logger.warning("ignoring attribute file: %s", error)
        return None


def _read_cartoonset_attributes(files: list[Path]) -> dict[str, np.ndarray]:
    """One int32 column per attribute; -1 where an image has no (valid) CSV.

    The schema is the official Cartoon Set one when the files use it, else the
    attribute names of the first CSV (e.g. a set written by preprocessing.synthetic).
    """
    with ThreadPoolExecutor(max_workers=8) as pool:  # small-file I/O bound
        rows = list(pool.map(_read_attributes_or_none, files))
    found = [row for row in rows if row is not None]
    if not found or set(found[0]) <= set(cartoonset.CARTOONSET_ATTRIBUTES):
        names = list(cartoonset.CARTOONSET_ATTRIBUTES)
    else:
        names = list(found[0])
    missing = len(rows) - len(found)
    if missing:
        logger.warning(
            "%d of %d Cartoon Set images have no readable attribute CSV; their attributes are %d",
            missing,
            len(rows),
            MISSING_ATTRIBUTE,
        )
    return {
        name: np.asarray(
            [MISSING_ATTRIBUTE if row is None else row.get(name, MISSING_ATTRIBUTE) for row in rows],
            np.int32,
        )
        for name in names
    }


def _tfds_source(spec: str, rest: str, data_dir, download: bool, shuffle_files: bool) -> Source:
    name, _, split = rest.partition(":")
    if not name or not split:
        raise SourceError(f"{spec!r}: expected tfds:NAME[/CONFIG]:SPLIT, e.g. tfds:celeb_a:train")
    import tensorflow_datasets as tfds  # slow to import; only TFDS users pay for it

    try:
        dataset, info = tfds.load(
            name,
            split=split,
            data_dir=data_dir,
            download=download,
            shuffle_files=shuffle_files,
            with_info=True,
        )
    except Exception as error:  # TFDS raises many types: not found, download, manual_dir
        raise SourceError(
            f"{spec!r}: could not load TFDS dataset {name!r} split {split!r}: "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}. "
            "Without network access, prepare it on a machine that has one "
            f"(python -c \"import tensorflow_datasets as tfds; tfds.load('{name}')\") "
            "and copy the data directory here (pass its path as the TFDS data dir)."
        ) from error
    try:
        num_records = info.splits[split].num_examples
    except (KeyError, ValueError):
        num_records = None
    return Source(spec, dataset.map(_from_tfds_record, num_parallel_calls=tf.data.AUTOTUNE), num_records)


def _from_tfds_record(example: dict) -> dict:
    """TFDS features -> the common record: CelebA landmarks as 5x2, booleans as int32."""
    record = {"image": to_rgb(example["image"])}
    landmarks = example.get("landmarks")
    if isinstance(landmarks, dict):
        record["landmarks"] = tf.cast(
            tf.stack([tf.stack([landmarks[f"{p}_x"], landmarks[f"{p}_y"]]) for p in annotation_table.LANDMARK_NAMES]),
            tf.float32,
        )
    attributes = example.get("attributes")
    if isinstance(attributes, dict):
        record["attributes"] = {k: tf.cast(v, tf.int32) for k, v in attributes.items()}
    return record


def _synthetic_source(spec: str, rest: str, image_size: int, seed: int) -> Source:
    from preprocessing import synthetic

    domain, _, count_text = rest.partition(":")
    if domain not in synthetic.DOMAINS:
        raise SourceError(f"{spec!r}: unknown synthetic domain {domain!r}; expected one of {synthetic.DOMAINS}")
    count = None
    if count_text:
        if not count_text.isdigit() or int(count_text) == 0:
            raise SourceError(f"{spec!r}: COUNT must be a positive integer, got {count_text!r}")
        count = int(count_text)
    dataset = synthetic.as_dataset(domain, size=image_size, seed=seed, count=count)
    return Source(spec, dataset, count)
