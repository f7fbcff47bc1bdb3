"""`annotations.csv`: the landmarks (and attributes) of a folder of face images.

One row per image: `image_id` (the image's path relative to the folder, POSIX),
CelebA's 5 landmarks as `lefteye_x, lefteye_y, ..., rightmouth_y` (pixel
indices of that image: the centre of pixel column i is x = i), then any integer
attribute columns. preprocessing.synthetic writes it for its photos (with their
attributes), crop_faces for the faces it places by landmarks, remove_background
carries it over, and the `folder:` source reads it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from preprocessing import atomic_files

ANNOTATIONS_FILE = "annotations.csv"
LANDMARK_NAMES = ("lefteye", "righteye", "nose", "leftmouth", "rightmouth")
LANDMARK_COLUMNS = tuple(f"{name}_{axis}" for name in LANDMARK_NAMES for axis in "xy")

Row = list[str]


class AnnotationsError(ValueError):
    """A table that does not follow the format; the message names the file (and line)."""


def header(attribute_names: tuple[str, ...] = ()) -> Row:
    return ["image_id", *LANDMARK_COLUMNS, *attribute_names]


def row(image_id: str, landmarks: np.ndarray, attributes: tuple[int, ...] = ()) -> Row:
    """A table row: 5x2 (x, y) landmarks to one decimal, then the attribute values."""
    return [image_id, *(f"{value:.1f}" for value in np.asarray(landmarks).reshape(-1)), *map(str, attributes)]


def read_table(path: Path) -> tuple[Row, dict[str, Row]]:
    """(header, {image_id: row}) of a table; ({}, []) when there is none."""
    if not path.exists():
        return [], {}
    try:
        with path.open(newline="") as handle:
            lines = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise AnnotationsError(f"{path}: cannot be read as CSV ({error})") from None
    if not lines or lines[0][: 1 + len(LANDMARK_COLUMNS)] != header():
        raise AnnotationsError(f"{path}:1: expected the columns image_id, {', '.join(LANDMARK_COLUMNS)}[, attributes]")
    rows = {}
    for line_number, fields in enumerate(lines[1:], start=2):
        if not fields:
            continue
        if len(fields) != len(lines[0]):
            raise AnnotationsError(f"{path}:{line_number}: expected {len(lines[0])} fields, got {len(fields)}")
        rows[fields[0]] = fields
    return lines[0], rows


def write_table(path: Path, table_header: Row, rows: dict[str, Row]) -> None:
    """Write the rows sorted by image_id, whole or not at all (`atomic_files.WriteError` when it cannot be)."""
    with atomic_files.replaced_atomically(path) as partial, partial.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(table_header)
        writer.writerows(rows[image_id] for image_id in sorted(rows))


def merge_into(path: Path, table_header: Row, rows: dict[str, Row]) -> None:
    """Add or replace `rows` in the table at `path`, keeping the rows of other images already there.

    A table with another header is not merged into: AnnotationsError.
    """
    existing_header, existing = read_table(path)
    if existing_header and existing_header != table_header:
        raise AnnotationsError(f"{path}: exists with other columns; move it away or choose another output folder")
    write_table(path, table_header, {**existing, **rows})


def landmarks_of(fields: Row) -> np.ndarray:
    """5x2 float32 (x, y) of a row."""
    return np.asarray(fields[1 : 1 + len(LANDMARK_COLUMNS)], np.float32).reshape(len(LANDMARK_NAMES), 2)


def attributes_of(table_header: Row, fields: Row) -> dict[str, int]:
    names = table_header[1 + len(LANDMARK_COLUMNS) :]
    return {name: int(value) for name, value in zip(names, fields[1 + len(LANDMARK_COLUMNS) :])}
