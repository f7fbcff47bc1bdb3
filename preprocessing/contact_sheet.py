"""A contact sheet of a folder of images: look at a preprocessing step's output at a glance.

usage: python -m preprocessing.contact_sheet FOLDER [FOLDER ...] --out sheet.png [flags]

The first --count images of each FOLDER (sorted by path), --cell pixels each,
one row of --columns per FOLDER when several are given (the same file names
side by side, to compare two steps), else wrapped into rows. With --landmarks,
the 5 points of FOLDER/annotations.csv are drawn on the images it lists. A
file that cannot be read is shown as a grey cell and counted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from absl import app, flags
from PIL import Image, ImageDraw

from preprocessing import annotation_table, image_io

GAP = 2
MISSING_GREY = 128
LANDMARK_COLOURS = ((255, 0, 0), (255, 0, 0), (0, 160, 0), (0, 0, 255), (0, 0, 255))


def cell(path: Path, side: int, landmarks: np.ndarray | None) -> tuple[Image.Image, bool]:
    """(the image fitted to side x side, with its landmarks drawn; whether it could be read)."""
    try:
        rgb = image_io.read_rgb(path)
    except image_io.UnreadableImageError:
        return Image.new("RGB", (side, side), (MISSING_GREY,) * 3), False
    image = Image.fromarray(rgb).resize((side, side), Image.Resampling.LANCZOS)
    if landmarks is not None:
        scale_x, scale_y = side / rgb.shape[1], side / rgb.shape[0]
        draw = ImageDraw.Draw(image)
        for (x, y), colour in zip(landmarks, LANDMARK_COLOURS):
            centre_x, centre_y = (x + 0.5) * scale_x, (y + 0.5) * scale_y
            draw.ellipse((centre_x - 2, centre_y - 2, centre_x + 2, centre_y + 2), fill=colour)
    return image, True


def folder_landmarks(folder: Path) -> dict[str, np.ndarray]:
    _, rows = annotation_table.read_table(folder / annotation_table.ANNOTATIONS_FILE)
    return {image_id: annotation_table.landmarks_of(fields) for image_id, fields in rows.items()}


def sheet_rows(folders: list[Path], count: int, columns: int) -> list[list[Path]]:
    """Paths laid out row by row: one folder wrapped, or one row per folder, matched by relative path
    without suffix (a step writes a.jpg as a.png)."""
    if len(folders) == 1:
        files = image_io.list_images(folders[0])[:count]
        return [files[start : start + columns] for start in range(0, len(files), columns)]
    stems = [path.relative_to(folders[0]).with_suffix("") for path in image_io.list_images(folders[0])[:columns]]
    rows = []
    for folder in folders:
        by_stem = {path.relative_to(folder).with_suffix(""): path for path in image_io.list_images(folder)}
        rows.append([by_stem.get(stem, folder / stem) for stem in stems])
    return rows


def contact_sheet(folders: list[Path], count: int, columns: int, side: int, draw_landmarks: bool):
    """(the sheet, the number of cells that could not be read)."""
    rows = sheet_rows(folders, count, columns)
    landmarks = {folder: folder_landmarks(folder) if draw_landmarks else {} for folder in folders}
    width = max(len(row) for row in rows) * (side + GAP) - GAP
    sheet = Image.new("RGB", (width, len(rows) * (side + GAP) - GAP), (255, 255, 255))
    unreadable = 0
    for row_index, row in enumerate(rows):
        for column_index, path in enumerate(row):
            folder = next(folder for folder in folders if folder in path.parents)
            image_id = path.relative_to(folder).with_suffix(".png").as_posix()
            image, readable = cell(path, side, landmarks[folder].get(image_id))
            unreadable += not readable
            sheet.paste(image, (column_index * (side + GAP), row_index * (side + GAP)))
    return sheet, unreadable


def define_flags() -> None:
    flags.DEFINE_string("out", None, "PNG file to write the sheet to.", required=True)
    flags.DEFINE_integer("count", 100, "One folder: how many images (the first, by path).", lower_bound=1)
    flags.DEFINE_integer("columns", 10, "Images per row.", lower_bound=1)
    flags.DEFINE_integer("cell", 96, "Side of each image on the sheet, in pixels.", lower_bound=8)
    flags.DEFINE_bool("landmarks", False, "Draw the 5 landmarks of FOLDER/annotations.csv (eyes red, nose green).")


def main(argv: list[str]) -> int:
    options = flags.FLAGS
    folders = [Path(argument) for argument in argv[1:]]
    if not folders:
        print("contact_sheet: error: expected at least one FOLDER (see --help)", file=sys.stderr)
        return 2
    try:
        sheet, unreadable = contact_sheet(folders, options.count, options.columns, options.cell, options.landmarks)
    except (FileNotFoundError, image_io.EmptySourceError, annotation_table.AnnotationsError) as error:
        print(f"contact_sheet: error: {error}", file=sys.stderr)
        return 2
    out = Path(options.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"wrote {out} ({sheet.width}x{sheet.height}; {unreadable} unreadable or missing images shown grey)")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
