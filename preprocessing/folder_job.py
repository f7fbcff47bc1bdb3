"""The machinery shared by the folder-to-folder preprocessing CLIs.

A CLI (crop_cartoons, crop_faces, remove_background) describes what to do with
one image as a `FileJob` and calls `run_cli`; everything else happens here, the
same way for every CLI:

* `SRC DST` are the two positional arguments left over by absl;
* SRC must be an existing folder holding images; DST must not be SRC, lie
  inside it or contain it, so nothing is ever written among the sources;
* every image `SRC/<rel>` becomes `DST/<rel without suffix>.png` (sub-folders
  kept); "sidecar" files a job names (e.g. Cartoon Set CSVs) are copied beside it;
* a file that cannot be decoded, or that the job refuses with `SkipFile`, is
  skipped, counted and listed at the end; `NoSubjectFound` (e.g. no face, no
  person) is listed apart, and nothing is written for it; `StopJob` ends the run
  early and lists the files left unprocessed (e.g. every API key is exhausted);
* every output is written whole or not at all (`preprocessing.atomic_files`); an
  output that cannot be written (a full disk) stops the run at once with one line
  on stderr, `OutputWriteError`: every later write would most likely fail too;
* the 5 landmarks a job places on an output, or, for a job that keeps the
  geometry, the rows of SRC/annotations.csv, go to DST/annotations.csv
  (`preprocessing.annotation_table`), beside the rows of other images already there;
* a tqdm progress bar on stderr, then one summary block on stdout.

Exit codes:
  0  the run went through every file (some may have been skipped);
  1  the run was stopped early: by `StopJob` (the summary says why), or by an
     output it could not write (one line on stderr, no summary);
  2  bad command line, folders or settings: one line on stderr, nothing written.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from absl import app
from tqdm import tqdm

from preprocessing import annotation_table, atomic_files, image_io

EXIT_COMPLETED = 0
EXIT_STOPPED = 1
EXIT_USAGE = 2


class JobSetupError(ValueError):
    """A problem found before any file is processed; reported as one line on stderr."""


class SkipFile(Exception):
    """Raised by a job for one file it cannot process; the message says why, the run goes on."""


class NoSubjectFound(SkipFile):
    """Raised by a job for a file in which it finds no subject to work on: listed apart, not written."""


class StopJob(Exception):
    """Raised by a job when no further file can be processed; the run ends with a summary."""


class OutputWriteError(RuntimeError):
    """An output that could not be written: the run stops; the message is one line naming the file, why, and
    how many images were written before it."""

    @classmethod
    def after(cls, error: atomic_files.WriteError, summary: JobSummary) -> OutputWriteError:
        return cls(
            f"{error}; stopped after writing {len(summary.written)} of {summary.total} images to "
            f"{summary.destination}; {error.remedy}, then rerun the same command"
        )


@dataclass(frozen=True)
class FileResult:
    """What processing one image produced.

    image: HxWx3 or HxWx4 uint8, written as `DST/<rel>.png`.
    counters: names of the job's counters this file adds one to.
    sidecars: files copied beside the output under its name, keeping their own suffix.
    landmarks: 5x2 (x, y) CelebA landmarks in the output's pixels, for DST/annotations.csv.
    """

    image: np.ndarray
    counters: tuple[str, ...] = ()
    sidecars: tuple[Path, ...] = ()
    landmarks: np.ndarray | None = None


@dataclass(frozen=True)
class FileJob:
    """What a CLI plugs into the machinery: a per-file function and its counters.

    `counter_names` fixes the order of the counters in the summary, which lists
    them even when they stay at zero. A job whose outputs keep their source's
    geometry (`keeps_geometry`) carries the source's annotation rows over.
    """

    process_file: Callable[[Path], FileResult]
    counter_names: tuple[str, ...] = ()
    keeps_geometry: bool = False


@dataclass
class JobSummary:
    """The outcome of a run, as the summary block reports it."""

    source: Path
    destination: Path
    total: int
    counters: Counter
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one message per file, naming it
    no_subject: list[str] = field(default_factory=list)  # one message per file, naming it
    annotated: int = 0  # rows written to DST/annotations.csv
    not_processed: list[Path] = field(default_factory=list)
    stop_reason: str | None = None


def run_cli(build_job: Callable[[], FileJob]) -> None:
    """The `__main__` entry point of a CLI: parse flags, then `SRC DST`, then run.

    `build_job` is called after flag parsing, so it can read `flags.FLAGS`; it
    raises `JobSetupError` for settings it cannot work with.
    """
    app.run(lambda argv: _main(argv, build_job))


def _main(argv: list[str], build_job: Callable[[], FileJob]) -> int:
    try:
        source, destination = parse_positional_arguments(argv[1:])
        files = check_folders(source, destination)
        job = build_job()
    except JobSetupError as error:
        print(f"{_program_name()}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        summary = process_folder(source, destination, files, job)
    except annotation_table.AnnotationsError as error:
        print(f"{_program_name()}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OutputWriteError as error:
        print(f"{_program_name()}: error: {error}", file=sys.stderr)
        return EXIT_STOPPED
    print(format_summary(summary))
    return EXIT_STOPPED if summary.stop_reason else EXIT_COMPLETED


def _program_name() -> str:
    return Path(sys.argv[0]).stem


def parse_positional_arguments(arguments: list[str]) -> tuple[Path, Path]:
    """`[SRC, DST]` -> paths; anything else is a one-line usage error."""
    if len(arguments) != 2:
        raise JobSetupError(
            f"expected the two arguments SRC DST, got {len(arguments)} "
            f"(usage: python -m {__package__}.{_program_name()} SRC DST [flags]; see --help)"
        )
    return Path(arguments[0]), Path(arguments[1])


def check_folders(source: Path, destination: Path) -> list[Path]:
    """The images under `source`, once the two folders are known to be usable."""
    if not source.is_dir():
        raise JobSetupError(f"{source}: SRC is not an existing folder")
    resolved_source, resolved_destination = source.resolve(), destination.resolve()
    if resolved_destination == resolved_source or resolved_source in resolved_destination.parents:
        raise JobSetupError(f"{destination}: DST must not be SRC or inside SRC ({source})")
    if resolved_destination in resolved_source.parents:
        # Outputs for SRC/<rel> would land among the sources whenever <rel> starts with SRC's name.
        raise JobSetupError(f"{destination}: DST must not contain SRC ({source})")
    if destination.exists() and not destination.is_dir():
        raise JobSetupError(f"{destination}: DST exists and is not a folder")
    try:
        return image_io.list_images(source)
    except (FileNotFoundError, image_io.EmptySourceError) as error:
        raise JobSetupError(str(error)) from error


def output_path_for(file: Path, source: Path, destination: Path) -> Path:
    """`SRC/<rel>` -> `DST/<rel>` with a .png suffix."""
    return (destination / file.relative_to(source)).with_suffix(".png")


def process_folder(source: Path, destination: Path, files: list[Path], job: FileJob) -> JobSummary:
    """Run `job` on every file, writing outputs; never raises for a bad file, `OutputWriteError` for an output
    it cannot write (the outputs written before it stay whole)."""
    counters = Counter(dict.fromkeys(job.counter_names, 0))
    summary = JobSummary(source, destination, len(files), counters)
    annotations = _Annotations(source, destination, job.keeps_geometry)
    first_source_of_output: dict[Path, Path] = {}
    progress = tqdm(files, desc=_program_name(), unit="image", file=sys.stderr)
    for index, file in enumerate(progress):
        output = output_path_for(file, source, destination)
        if output in first_source_of_output:
            # a.jpg and a.png both map to a.png: keep the first rather than overwrite it.
            first = first_source_of_output[output]
            summary.skipped.append(f"{file}: same output {output} as {first}")
            continue
        first_source_of_output[output] = file
        try:
            result = job.process_file(file)
        except image_io.UnreadableImageError as error:
            summary.skipped.append(str(error))  # the message already names the file
            continue
        except NoSubjectFound as error:
            summary.no_subject.append(f"{file}: {error}")
            continue
        except SkipFile as error:
            summary.skipped.append(f"{file}: {error}")
            continue
        except StopJob as error:
            summary.stop_reason = str(error)
            summary.not_processed = files[index:]
            break
        try:
            _write_result(result, output)
        except atomic_files.WriteError as error:
            progress.close()
            raise OutputWriteError.after(error, summary) from None
        summary.written.append(output)
        summary.counters.update(result.counters)
        annotations.add(file, output, result.landmarks)
    progress.close()
    try:
        summary.annotated = annotations.write()
    except atomic_files.WriteError as error:
        raise OutputWriteError.after(error, summary) from None
    return summary


class _Annotations:
    """The rows of DST/annotations.csv: landmarks the job placed, or SRC's rows carried over."""

    def __init__(self, source: Path, destination: Path, keeps_geometry: bool):
        self._source, self._destination = source, destination
        self._source_header, self._source_rows = (
            annotation_table.read_table(source / annotation_table.ANNOTATIONS_FILE) if keeps_geometry else ([], {})
        )
        self._header = self._source_header or annotation_table.header()
        self._rows: dict[str, annotation_table.Row] = {}
        existing_header, _ = annotation_table.read_table(destination / annotation_table.ANNOTATIONS_FILE)
        if existing_header and existing_header != self._header:
            # Found before any image is written, so the run stops with nothing done.
            raise annotation_table.AnnotationsError(
                f"{destination / annotation_table.ANNOTATIONS_FILE}: exists with other columns; "
                "move it away or choose another DST"
            )

    def add(self, file: Path, output: Path, landmarks: np.ndarray | None) -> None:
        image_id = output.relative_to(self._destination).as_posix()
        source_row = self._source_rows.get(file.relative_to(self._source).as_posix())
        if landmarks is not None:
            self._rows[image_id] = annotation_table.row(image_id, landmarks)
        elif source_row is not None:
            self._rows[image_id] = [image_id, *source_row[1:]]

    def write(self) -> int:
        """Merge the rows into DST/annotations.csv; how many there were."""
        if self._rows:
            path = self._destination / annotation_table.ANNOTATIONS_FILE
            annotation_table.merge_into(path, self._header, self._rows)
        return len(self._rows)


def _write_result(result: FileResult, output: Path) -> None:
    image_io.write_png(result.image, output)
    for sidecar in result.sidecars:
        with atomic_files.replaced_atomically(output.with_suffix(sidecar.suffix)) as partial:
            shutil.copyfile(sidecar, partial)


def format_summary(summary: JobSummary) -> str:
    """The summary block: what was written, what was skipped and why, the job's counters."""
    lines = [
        f"Summary of {_program_name()}:",
        f"  images found:   {summary.total} under {summary.source}",
        f"  written:        {len(summary.written)} to {summary.destination}",
        f"  skipped:        {len(summary.skipped)}",
        *(f"    - {message}" for message in summary.skipped),
    ]
    if summary.no_subject:
        lines += [
            f"  no subject found, not written: {len(summary.no_subject)}",
            *(f"    - {message}" for message in summary.no_subject),
        ]
    if summary.annotated:
        lines.append(f"  landmarks:      {summary.annotated} rows in {annotation_table.ANNOTATIONS_FILE}")
    if summary.stop_reason:
        lines += [
            f"  stopped early:  {summary.stop_reason}",
            f"  not processed:  {len(summary.not_processed)}",
            *(f"    - {file}" for file in summary.not_processed),
        ]
    # Insertion order: the job's declared counters first, then any others as they appeared.
    lines += [f"  {name}: {count}" for name, count in summary.counters.items()]
    return "\n".join(lines)
