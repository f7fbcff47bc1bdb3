"""Writing records as files: PNGs with Cartoon Set CSVs (cartoons) or a CelebA-like annotations table (photos)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from preprocessing import annotation_table, cartoonset, image_io
from preprocessing.synthetic.attributes import ATTRIBUTE_VARIANTS, check_domain
from preprocessing.synthetic.records import make_record

FILE_PREFIX = {"cartoon": "cs", "photo": ""}


def file_stem(domain: str, index: int) -> str:
    return f"{FILE_PREFIX[domain]}{index:06d}"


def annotation_row(image_id: str, record: dict) -> list[str]:
    return annotation_table.row(
        image_id, record["landmarks"], tuple(record["attributes"][name] for name in ATTRIBUTE_VARIANTS)
    )


def write_records(
    domain: str, count: int, out: Path, size: int, seed: int, start_index: int, background: str = "keep"
) -> list[Path]:
    """Write records start_index .. start_index + count - 1 to `out`; returns the PNG paths.

    Cartoons get a Cartoon Set CSV each; photos get their rows in `out`/annotations.csv,
    where rows of other images already there are kept. `background="white"` paints
    everything outside each record's foreground mask white, as the training
    flag --*_background=white shows the records to a model.
    """
    if background not in ("keep", "white"):
        raise ValueError(f"background must be keep or white, got {background!r}")
    check_domain(domain)
    rows = {}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    indices = range(start_index, start_index + count)
    for index in tqdm(indices, desc=f"synthetic {domain}", unit="image", file=sys.stderr):
        record = make_record(domain, seed, index, size)
        path = out / f"{file_stem(domain, index)}.png"
        image = record["image"]
        if background == "white":
            image = image_io.composite_on(np.concatenate([image, record["mask"][..., None]], axis=-1))
        image_io.write_png(image, path)
        written.append(path)
        if domain == "cartoon":
            cartoonset.write_attribute_file(cartoonset.csv_path_for(path), record["attributes"], ATTRIBUTE_VARIANTS)
        else:
            rows[path.name] = annotation_row(path.name, record)
    if domain == "photo":
        annotation_table.merge_into(
            out / annotation_table.ANNOTATIONS_FILE, annotation_table.header(ATTRIBUTE_VARIANTS), rows
        )
    return written
