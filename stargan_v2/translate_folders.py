"""Folders of sources (and references) through a StarGAN v2 `StyleTranslator`: what `python -m
stargan_v2.translate` writes, and its summary.

Each source `SRC/<rel>` is translated in every style, and each translation written as

    reference-guided  OUTPUT/<rel without suffix>/<reference's path under REF>.png
    latent-guided     OUTPUT/<rel without suffix>/<target domain>_<k>.png        (k = 0 .. K-1)

OUTPUT must not be, lie in or contain the source or the reference folder (`training.translate.find_inputs`),
so no output ever replaces an input. Files that cannot be decoded, and files whose output name an earlier
file took (a.jpg and a.png), are skipped and listed in the summary (`preprocessing.folder_job`'s); a folder
in which no image can be read is a one-line error. Images are read a batch at a time and the styles are
taken a batch at a time, so memory holds one batch of sources times one batch of styles, whatever the
folders' sizes. `--grid` adds the figure of the first GRID_IMAGES sources (and references), translated again
for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np

from preprocessing import folder_job, image_io
from training.images import grid_image, to_unit_range
from training.translate import GRID_COLUMNS, TranslationSetupError, find_inputs, read_prepared, to_uint8

REFERENCE_GRID_FILE = "reference_grid.png"
LATENT_GRID_FILE = "latent_grid.png"
# The grids show the first 8 sources (and references), as the official sample grids of a batch of 8.
GRID_IMAGES = GRID_COLUMNS
SOURCES_TRANSLATED = "sources translated"
REFERENCES_READ = "references read"


def with_references(
    translator, input_path, reference_path, output_dir, target_domain: str, crop: str = "none", grid: bool = False
) -> tuple[folder_job.JobSummary, Path | None]:
    """Every source in the style of every reference of `target_domain`; (the summary, the grid's path or None)."""
    output_dir = Path(output_dir)
    summary, sources = _start(input_path, output_dir)
    reference_root, reference_files = find_inputs(Path(reference_path), output_dir)
    references = _named_by_output(reference_root, reference_files, summary.skipped)
    styles, style_files, grid_references = [], [], []
    for paths, images in prepared_batches(list(references), translator, crop, summary.skipped):
        styles.append(translator.reference_styles(images, target_domain))
        style_files += [references[path].with_suffix(".png") for path in paths]
        grid_references += list(images[: GRID_IMAGES - len(grid_references)])
    if not style_files:
        raise TranslationSetupError(f"{reference_root}: none of its {len(reference_files)} images could be read")
    summary.counters[REFERENCES_READ] = len(style_files)
    styles = np.concatenate(styles)
    grid_sources = _translate_sources(translator, sources, styles, style_files, output_dir, crop, summary)
    if not grid:
        return summary, None
    grid_path = output_dir / REFERENCE_GRID_FILE
    grid_translations = translator.in_every_style(grid_sources, styles[: len(grid_references)])
    image_io.write_png(reference_grid(grid_sources, np.stack(grid_references), grid_translations), grid_path)
    return summary, grid_path


def with_latents(
    translator,
    input_path,
    output_dir,
    target_domain: str,
    styles_per_source: int,
    seed: int = 0,
    psi: float = 1.0,
    crop: str = "none",
    grid: bool = False,
) -> tuple[folder_job.JobSummary, Path | None]:
    """Every source in the same `styles_per_source` random styles of `target_domain` (`seed`, truncation `psi`);
    (the summary, the grid's path or None)."""
    output_dir = Path(output_dir)
    summary, sources = _start(input_path, output_dir)
    styles = translator.latent_styles(target_domain, styles_per_source, seed, psi)
    style_files = [Path(f"{target_domain}_{index}.png") for index in range(styles_per_source)]
    grid_sources = _translate_sources(translator, sources, styles, style_files, output_dir, crop, summary)
    if not grid:
        return summary, None
    grid_path = output_dir / LATENT_GRID_FILE
    image_io.write_png(latent_grid(grid_sources, translator.in_every_style(grid_sources, styles)), grid_path)
    return summary, grid_path


def prepared_batches(files: list[Path], translator, crop: str, skipped: list[str]) -> Iterator[tuple[list, np.ndarray]]:
    """(paths, images (B, S, S, 3) in [-1, 1]) of up to `translator.batch_size` readable files at a time, read
    as the other translate CLIs read them; the message of each file that cannot be decoded goes to `skipped`."""
    paths, images = [], []
    for path in files:
        try:
            image = read_prepared(path, translator.image_size, crop)
        except image_io.UnreadableImageError as error:
            skipped.append(str(error))  # the message names the file
            continue
        paths.append(path)
        images.append(keras.ops.convert_to_numpy(image))
        if len(paths) == translator.batch_size:
            yield paths, np.stack(images)
            paths, images = [], []
    if paths:
        yield paths, np.stack(images)


def reference_grid(sources, references, translations) -> np.ndarray:
    """The official `translate_using_reference` figure as an HxWx3 uint8 image, without gaps (its padding=0).

    sources (N, S, S, 3), references (R, S, S, 3) and translations (N, R, S, S, 3) in [-1, 1] -> a
    ((1 + R) S, (1 + N) S) image: a white corner cell and the sources along the top row, then a row per
    reference: the reference, then every source in its style.
    """
    rows = [np.concatenate([np.ones_like(sources[:1]), sources])]
    rows += [np.concatenate([reference[None], translations[:, index]]) for index, reference in enumerate(references)]
    return _uint8_grid(rows)


def latent_grid(sources, translations) -> np.ndarray:
    """A row per source: the source, then its K translations (N, K, S, S, 3); an (N S, (1 + K) S) uint8 image."""
    return _uint8_grid([np.concatenate([source[None], outputs]) for source, outputs in zip(sources, translations)])


def _uint8_grid(rows) -> np.ndarray:
    grid = grid_image([("", to_unit_range(row)) for row in rows], gap=0)
    return np.round(grid * 255.0).astype(np.uint8)  # as `to_uint8` rounds each cell


def _start(input_path, output_dir: Path) -> tuple[folder_job.JobSummary, dict[Path, Path]]:
    """The summary to fill and the sources {file: its path under the source folder}, once the folders are usable."""
    source_root, source_files = find_inputs(Path(input_path), output_dir)
    summary = folder_job.JobSummary(source_root, output_dir, len(source_files), Counter({SOURCES_TRANSLATED: 0}))
    return summary, _named_by_output(source_root, source_files, summary.skipped)


def _named_by_output(root: Path, files: list[Path], skipped: list[str]) -> dict[Path, Path]:
    """{file: its path under `root`} for the files whose name without suffix no earlier file has."""
    named, first_of_name = {}, {}
    for file in files:
        relative = file.relative_to(root)
        name = relative.with_suffix("")
        if name in first_of_name:
            skipped.append(f"{file}: same output name {name} as {first_of_name[name]}")
            continue
        first_of_name[name] = file
        named[file] = relative
    return named


def _translate_sources(
    translator, sources: dict[Path, Path], styles, style_files: list[Path], output_dir: Path, crop, summary
) -> np.ndarray:
    """Writes every readable source in every style (OUTPUT/<source>/<style file>); the first GRID_IMAGES
    sources' images. TranslationSetupError when none can be read."""
    grid_sources = []
    for paths, images in prepared_batches(list(sources), translator, crop, summary.skipped):
        for start in range(0, len(styles), translator.batch_size):
            chunk = slice(start, start + translator.batch_size)
            for path, translations in zip(paths, translator.in_every_style(images, styles[chunk])):
                for style_file, translation in zip(style_files[chunk], translations):
                    output = output_dir / sources[path].with_suffix("") / style_file
                    image_io.write_png(to_uint8(translation), output)
                    summary.written.append(output)
        summary.counters[SOURCES_TRANSLATED] += len(paths)
        grid_sources += list(images[: GRID_IMAGES - len(grid_sources)])
    if not grid_sources:
        raise TranslationSetupError(f"{summary.source}: none of its {summary.total} images could be read")
    return np.stack(grid_sources)
