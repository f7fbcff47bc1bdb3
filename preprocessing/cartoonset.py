"""The Cartoon Set file format (Royer et al., google.github.io/cartoonset).

Each `csNNN.png` (500x500 RGBA, transparent background) has a `csNNN.csv`
beside it with one line per attribute: `"attr", value, num_variants`.
The 10k set is one flat folder, the 100k set is split into folders 0-9.
"""

from __future__ import annotations

import csv
from pathlib import Path

# name -> number of variants, in the order the files list them.
CARTOONSET_ATTRIBUTES = {
    "eye_angle": 3,
    "eye_lashes": 2,
    "eye_lid": 2,
    "chin_length": 3,
    "eyebrow_weight": 2,
    "eyebrow_shape": 14,
    "eyebrow_thickness": 4,
    "face_shape": 7,
    "facial_hair": 15,
    "hair": 111,
    "eye_color": 5,
    "face_color": 11,
    "hair_color": 10,
    "glasses": 12,
    "glasses_color": 7,
    "eye_slant": 3,
    "eyebrow_width": 3,
    "eye_eyebrow_distance": 3,
}


class AttributeFileError(ValueError):
    """A Cartoon Set attribute CSV that does not follow the format."""


def csv_path_for(image_path: str | Path) -> Path:
    return Path(image_path).with_suffix(".csv")


def read_attribute_file(path: str | Path) -> dict[str, tuple[int, int]]:
    """`{name: (value, num_variants)}` in file order."""
    path = Path(path)
    attributes = {}
    with path.open(newline="") as handle:
        for line_number, row in enumerate(csv.reader(handle, skipinitialspace=True), 1):
            if not row:
                continue
            try:
                name, value, variants = row[0].strip(), int(row[1]), int(row[2])
            except (IndexError, ValueError) as error:
                raise AttributeFileError(
                    f"{path}:{line_number}: expected '\"name\", value, num_variants', got {row!r}"
                ) from error
            if not 0 <= value < variants:
                raise AttributeFileError(f"{path}:{line_number}: {name} = {value} is outside [0, {variants})")
            attributes[name] = (value, variants)
    if not attributes:
        raise AttributeFileError(f"{path}: no attributes in file")
    return attributes


def write_attribute_file(path: str | Path, values: dict[str, int], variants: dict[str, int]) -> None:
    """Write `values` in the Cartoon Set format, one `"name", value, variants` line each."""
    lines = [f'"{name}", {int(value)}, {int(variants[name])}\n' for name, value in values.items()]
    Path(path).write_text("".join(lines))
