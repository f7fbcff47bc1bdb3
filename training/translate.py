"""Translating image files with an exported generator: the machinery of `training.translate_cli`.

Files are read, cropped and normalised as in training (`preprocessing.pipeline.prepare_image`),
translated one by one, and written as PNGs; unreadable files are skipped and
listed, the inputs are never written to, and `--grid` adds a side-by-side
`grid.png` of the first inputs and their translations.

With a compositing mask (`person_masks()`: MediaPipe's selfie segmentation, as
`preprocessing.remove_background` uses; or `mask_folder(path)`: one mask image
per input), the translation is kept inside the mask and the input outside it:

    output = alpha * G(x) + (1 - alpha) * x

so the background of a stylised portrait stays the photo's own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from preprocessing import atomic_files, folder_job, image_io, models
from preprocessing.pipeline import prepare_image
from training.export import MissingGeneratorError, check_exported, load_generator
from training.images import save_grid_png, to_unit_range

GRID_COLUMNS = 8
GRID_FILE = "grid.png"


class TranslationSetupError(ValueError):
    """A missing generator or unusable input/output paths; reported as one line."""


def to_uint8(images) -> np.ndarray:
    """Images in [-1, 1] -> uint8 in [0, 255]."""
    return np.round(to_unit_range(images) * 255.0).astype(np.uint8)


def read_prepared(path: Path, image_size: int, crop: str = "none"):
    """The image file at `path` as a generator's input: (image_size, image_size, 3) float32 in [-1, 1], cropped
    and resized as in training; `image_io.UnreadableImageError` (naming the file) when it cannot be decoded."""
    return prepare_image(image_io.read_rgb(path), image_size, crop)


def find_inputs(input_path: Path, output_dir: Path) -> tuple[Path, list[Path]]:
    """(the folder outputs are named relative to, the image files), refusing to write among the inputs."""
    if input_path.is_file():
        if output_dir.resolve() == input_path.parent.resolve():
            raise TranslationSetupError(f"{output_dir}: --output must not be the input's folder")
        return input_path.parent, [input_path]
    try:
        return input_path, folder_job.check_folders(input_path, output_dir)
    except folder_job.JobSetupError as error:
        raise TranslationSetupError(str(error)) from error


# (the input's path relative to the input folder, the prepared input as uint8) -> HxWx1 float32 alpha in
# [0, 1]: where the translation is kept.
Compositor = Callable[[Path, np.ndarray], np.ndarray]


def person_masks() -> Compositor:
    """Alpha = the person mask of MediaPipe's selfie segmentation on the prepared input."""
    from preprocessing.face_models import PersonSegmenter

    try:
        segmenter = PersonSegmenter.load()
    except models.ModelUnavailableError as error:
        raise TranslationSetupError(f"--composite: {error}") from None
    return lambda relative_path, image: segmenter.person_mask(image)[..., None]


def mask_folder(folder, crop: str = "none") -> Compositor:
    """Alpha = the mask image (white = keep the translation) of the same relative path, any image suffix."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TranslationSetupError(f"{folder}: --mask_dir is not an existing folder")

    def alpha(relative_path: Path, image: np.ndarray) -> np.ndarray:
        stem = relative_path.with_suffix("")
        masks = sorted(path for path in folder.glob(f"{stem}.*") if path.suffix.lower() in image_io.IMAGE_EXTENSIONS)
        if not masks:
            raise folder_job.SkipFile(f"no mask {stem}.* in {folder}")
        mask = prepare_image(image_io.read_rgb(masks[0]), image.shape[0], crop)
        return (keras.ops.convert_to_numpy(mask[..., :1]) + 1.0) / 2.0

    return alpha


def translate_files(
    generator: keras.Model,
    input_path,
    output_dir,
    crop: str = "none",
    grid_label: str | None = None,
    compositor: Compositor | None = None,
) -> folder_job.JobSummary:
    """Translate every image of `input_path` (a file or a folder) into `output_dir`/<name>.png.

    With `compositor`, each output keeps the translation where its alpha is 1 and the input where it is 0.
    An output (or the grid) that cannot be written stops the run: `folder_job.OutputWriteError`.
    """
    input_path, output_dir = Path(input_path), Path(output_dir)
    source_root, files = find_inputs(input_path, output_dir)
    image_size = generator.input_shape[1]
    grid_pairs = []

    def translate_one(path: Path) -> folder_job.FileResult:
        image = read_prepared(path, image_size, crop)
        translated = keras.ops.convert_to_numpy(generator(image[None], training=False))[0]
        if compositor is not None:
            alpha = compositor(path.relative_to(source_root), to_uint8(image))
            translated = alpha * translated + (1.0 - alpha) * keras.ops.convert_to_numpy(image)
        if grid_label and len(grid_pairs) < GRID_COLUMNS:
            grid_pairs.append((image.numpy(), translated))
        return folder_job.FileResult(to_uint8(translated))

    summary = folder_job.process_folder(source_root, output_dir, files, folder_job.FileJob(translate_one))
    if grid_label and grid_pairs:
        inputs, outputs = (np.stack(column) for column in zip(*grid_pairs))
        rows = [("input", to_unit_range(inputs)), (grid_label, to_unit_range(outputs))]
        try:
            save_grid_png(rows, output_dir / GRID_FILE)
        except atomic_files.WriteError as error:
            raise folder_job.OutputWriteError.after(error, summary) from None
    return summary


def run_translation_cli(
    generator_path,
    input_path: str,
    output_dir: str,
    crop: str,
    grid_label: str | None,
    make_compositor: Callable[[], Compositor] | None = None,
) -> int:
    """What a `translate` CLI's main does: one-line errors, a summary, an exit code.

    `make_compositor` (e.g. `person_masks`) is called once the arguments are checked.
    """
    if not input_path or not output_dir:
        print("error: --input and --output are required", file=sys.stderr)
        return folder_job.EXIT_USAGE
    try:
        generator = load_generator(check_exported(generator_path))
        compositor = make_compositor() if make_compositor else None
        summary = translate_files(generator, input_path, output_dir, crop, grid_label, compositor)
    except (MissingGeneratorError, TranslationSetupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return folder_job.EXIT_USAGE
    except folder_job.OutputWriteError as error:
        print(f"error: {error}", file=sys.stderr)
        return folder_job.EXIT_STOPPED
    print(folder_job.format_summary(summary))
    if grid_label and summary.written:
        print(f"  side-by-side grid: {Path(output_dir) / GRID_FILE}")
    return folder_job.EXIT_COMPLETED
