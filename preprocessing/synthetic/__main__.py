"""Command line of the synthetic faces: write records as image files, or a preview of both domains.

usage:
  python -m preprocessing.synthetic --domain cartoon|photo --count N --out DIR [--size 128]
                                    [--seed 0] [--start_index 0]
  python -m preprocessing.synthetic --preview PATH [--seed 0] [--start_index 0]

Writing files (--out): DIR/<prefix><index>.png with prefix "cs" for cartoons
(plus a Cartoon-Set-format csNNN.csv of the attributes beside each) and no
prefix for photos (plus one DIR/annotations.csv of landmarks and attributes,
CelebA-like; rows already in it for other images are kept). Only files the tool
names itself are overwritten; nothing is deleted.

--preview PATH writes one PNG of 8 records: rows photo 64 px (shown 2x),
photo 128 px, cartoon 64 px (shown 2x), cartoon 128 px.
"""

from __future__ import annotations

from pathlib import Path

from absl import app, flags

from preprocessing import atomic_files, image_io
from preprocessing.annotation_table import ANNOTATIONS_FILE
from preprocessing.synthetic.attributes import DOMAINS
from preprocessing.synthetic.files import write_records
from preprocessing.synthetic.preview import PREVIEW_COUNT, preview_image


def define_flags() -> None:
    flags.DEFINE_enum("domain", None, list(DOMAINS), "Which look to render: cartoon or photo.")
    flags.DEFINE_integer("count", None, "How many records to write.", lower_bound=1)
    flags.DEFINE_string("out", None, "Folder to write the PNGs (and CSVs) into; created if missing.")
    flags.DEFINE_integer("size", 128, "Side of the square images, in pixels.", lower_bound=1)
    flags.DEFINE_integer("seed", 0, "Seed of the record sequence: the same seed gives the same people.", lower_bound=0)
    flags.DEFINE_integer(
        "start_index", 0, "Index of the first record (to extend a set in several runs).", lower_bound=0
    )
    flags.DEFINE_enum(
        "background",
        "keep",
        ["keep", "white"],
        "keep, or white: everything outside each face's foreground mask painted white (cartoons are on white "
        "already), as models trained with --face_background=white or --a_background=white see photos.",
    )
    flags.DEFINE_string(
        "preview",
        None,
        "Instead of writing records, write one PNG comparing the two domains at 64 and 128 px to this path.",
    )


def main(argv: list[str]) -> None:
    with atomic_files.write_failures_in_one_line():
        write_from_flags(argv)


def write_from_flags(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    options = flags.FLAGS
    if options.preview:
        image_io.write_png(preview_image(options.seed, options.start_index), options.preview)
        print(
            f"wrote the preview of records {options.start_index}-{options.start_index + PREVIEW_COUNT - 1} "
            f"to {options.preview}"
        )
        return
    missing = [f"--{name}" for name in ("domain", "count", "out") if options[name].value is None]
    if missing:
        raise app.UsageError(f"missing {', '.join(missing)} (or use --preview PATH)")
    out = Path(options.out)
    try:
        written = write_records(
            options.domain, options.count, out, options.size, options.seed, options.start_index, options.background
        )
    except ValueError as error:
        raise app.UsageError(str(error)) from error
    extra = "Cartoon Set CSVs beside them" if options.domain == "cartoon" else ANNOTATIONS_FILE
    print(
        f"wrote {len(written)} {options.domain} faces ({options.size}x{options.size}, seed {options.seed}) "
        f"to {out}: {written[0].name} .. {written[-1].name} + {extra}"
    )


if __name__ == "__main__":
    # Flags are defined here, not on import: sources.py and the training CLIs import this package.
    define_flags()
    app.run(main)
