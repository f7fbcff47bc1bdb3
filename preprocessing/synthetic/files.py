"""Writing records as files: PNGs with Cartoon Set CSVs (cartoons) or a CelebA-like annotations table (photos)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from tqdm import tqdm

from preprocessing import cartoonset, image_io
from preprocessing.synthetic.attributes import ATTRIBUTE_VARIANTS, LANDMARK_NAMES, check_domain
from preprocessing.synthetic.records import make_record

FILE_PREFIX = {"cartoon": "cs", "photo": ""}
ANNOTATIONS_FILE = "annotations.csv"


def file_stem(domain: str, index: int) -> str:
    return f"{FILE_PREFIX[domain]}{index:06d}"


def annotation_header() -> list[str]:
    coordinates = [f"{name}_{axis}" for name in LANDMARK_NAMES for axis in "xy"]
    return ["image_id", *coordinates, *ATTRIBUTE_VARIANTS]


def annotation_row(image_id: str, record: dict) -> list[str]:
    coordinates = [f"{value:.1f}" for value in record["landmarks"].reshape(-1)]
    return [image_id, *coordinates, *(str(record["attributes"][name]) for name in ATTRIBUTE_VARIANTS)]


def read_annotations(path: Path) -> dict[str, list[str]]:
    """{image_id: row} of an existing annotations table; {} when there is none.

    Raises ValueError for a file with another header, which must not be merged into.
    """
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if rows and rows[0] != annotation_header():
        raise ValueError(f"{path}: exists with another header; move it away or choose another --out")
    return {row[0]: row for row in rows[1:] if row}


def write_annotations(path: Path, rows: dict[str, list[str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(annotation_header())
        writer.writerows(rows[image_id] for image_id in sorted(rows))


def write_records(domain: str, count: int, out: Path, size: int, seed: int, start_index: int) -> list[Path]:
    """Write records start_index .. start_index + count - 1 to `out`; returns the PNG paths.

    Cartoons get a Cartoon Set CSV each; photos get their rows in `out`/annotations.csv,
    where rows of other images already there are kept.
    """
    check_domain(domain)
    annotations_path = out / ANNOTATIONS_FILE
    annotations = read_annotations(annotations_path) if domain == "photo" else {}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    indices = range(start_index, start_index + count)
    for index in tqdm(indices, desc=f"synthetic {domain}", unit="image", file=sys.stderr):
        record = make_record(domain, seed, index, size)
        path = out / f"{file_stem(domain, index)}.png"
        image_io.write_png(record["image"], path)
        written.append(path)
        if domain == "cartoon":
            cartoonset.write_attribute_file(cartoonset.csv_path_for(path), record["attributes"], ATTRIBUTE_VARIANTS)
        else:
            annotations[path.name] = annotation_row(path.name, record)
    if domain == "photo":
        write_annotations(annotations_path, annotations)
    return written
