"""preprocessing.models: fetching the MediaPipe model files from the mediapipe wheel.

The fast tests run the real `pip download` against a fake wheel in a local find-links folder
(PIP_NO_INDEX, PIP_FIND_LINKS), with `models=` (or a patched MODELS) holding the fake files' hashes;
the slow one downloads the real pinned wheel from PyPI.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

import pytest

from preprocessing import models
from preprocessing.models import FetchError, ModelFile, ModelUnavailableError

FAKE_CONTENTS = {name: f"fake {name} model\n".encode() * 3 for name in models.MODELS}
FAILING_PIP = (sys.executable, "-c", "raise SystemExit('pip must not run')")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_models(contents: dict[str, bytes] = FAKE_CONTENTS) -> dict[str, ModelFile]:
    """MODELS with the real names and member paths, pinned to the hashes of `contents`."""
    return {name: ModelFile(name, model.member, sha256(contents[name])) for name, model in models.MODELS.items()}


def record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def write_fake_wheel(folder: Path, contents: dict[str, bytes] = FAKE_CONTENTS) -> Path:
    """A pure-Python mediapipe 0.10.14 wheel pip accepts, holding `contents` at the real member paths."""
    folder.mkdir(parents=True, exist_ok=True)
    dist_info = "mediapipe-0.10.14.dist-info"
    files = {models.MODELS[name].member: data for name, data in contents.items()}
    files[f"{dist_info}/METADATA"] = b"Metadata-Version: 2.1\nName: mediapipe\nVersion: 0.10.14\n"
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [record_line(path, data) for path, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / "mediapipe-0.10.14-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


@pytest.fixture
def local_index(tmp_path, monkeypatch) -> Path:
    """pip finds packages only in the returned (empty) folder."""
    folder = tmp_path / "index"
    folder.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


@pytest.fixture
def models_folder(tmp_path, monkeypatch) -> Path:
    """$XGAN_TOOLKIT_MODELS, not created yet."""
    folder = tmp_path / "models"
    monkeypatch.setenv("XGAN_TOOLKIT_MODELS", str(folder))
    return folder


def test_models_dir_is_the_variable_else_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XGAN_TOOLKIT_MODELS", str(tmp_path / "mine"))
    assert models.models_dir() == tmp_path / "mine"
    monkeypatch.delenv("XGAN_TOOLKIT_MODELS")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert models.models_dir() == tmp_path / "home" / ".cache" / "xgan-toolkit" / "models"


def test_the_pinned_models_are_the_three_mediapipe_files():
    assert list(models.MODELS) == ["selfie_segmentation", "face_detection_short_range", "face_landmark"]
    assert models.MODELS["face_landmark"].filename == "face_landmark.tflite"
    assert all(len(model.sha256) == 64 and model.name == name for name, model in models.MODELS.items())
    with pytest.raises(TypeError):
        models.MODELS["extra"] = models.MODELS["face_landmark"]  # type: ignore[index]


def test_fetch_installs_the_verified_members_deletes_the_wheel_and_then_does_nothing(
    local_index, models_folder, capsys
):
    write_fake_wheel(local_index)
    paths = models.fetch(models=fake_models())

    assert paths == [models_folder / model.filename for model in models.MODELS.values()]
    assert {path.name: path.read_bytes() for path in paths} == {
        models.MODELS[name].filename: data for name, data in FAKE_CONTENTS.items()
    }
    assert sorted(path.name for path in models_folder.iterdir()) == sorted(path.name for path in paths)
    progress = capsys.readouterr().err
    assert "downloading mediapipe==0.10.14 from the package registry..." in progress
    assert "extracted face_landmark.tflite (sha256 ok)" in progress

    before = {path: path.stat().st_mtime_ns for path in paths}
    assert models.fetch(models=fake_models(), pip_command=FAILING_PIP) == paths
    assert {path: path.stat().st_mtime_ns for path in paths} == before


def test_fetch_replaces_a_corrupted_model(local_index, tmp_path):
    write_fake_wheel(local_index)
    destination = tmp_path / "out"
    paths = models.fetch(destination, models=fake_models())
    paths[1].write_bytes(b"corrupted")

    assert models.fetch(destination, models=fake_models()) == paths
    assert paths[1].read_bytes() == FAKE_CONTENTS["face_detection_short_range"]


def test_fetch_refuses_a_member_with_the_wrong_sha256_and_installs_nothing(local_index, tmp_path):
    write_fake_wheel(local_index)
    pinned = fake_models({**FAKE_CONTENTS, "face_landmark": b"what the pin expects"})
    destination = tmp_path / "out"

    with pytest.raises(FetchError) as raised:
        models.fetch(destination, models=pinned)

    message = str(raised.value)
    assert "\n" not in message
    assert "face_landmark.tflite" in message
    assert sha256(b"what the pin expects") in message and sha256(FAKE_CONTENTS["face_landmark"]) in message
    assert list(destination.iterdir()) == []  # neither the other, valid models nor a temporary folder


def test_fetch_reports_pips_error_in_one_line(local_index, tmp_path):
    with pytest.raises(FetchError) as raised:
        models.fetch(tmp_path / "out", models=fake_models())

    message = str(raised.value)
    assert "\n" not in message
    assert "No matching distribution found for mediapipe==0.10.14" in message
    assert list((tmp_path / "out").iterdir()) == []


def test_fetch_refuses_a_wheel_without_the_members(local_index, tmp_path):
    write_fake_wheel(local_index, {"face_landmark": FAKE_CONTENTS["face_landmark"]})

    with pytest.raises(FetchError, match="selfie_segmentation.tflite"):
        models.fetch(tmp_path / "out", models=fake_models())
    assert list((tmp_path / "out").iterdir()) == []


def test_model_path_of_a_missing_model_says_how_to_fetch(models_folder):
    with pytest.raises(ModelUnavailableError) as raised:
        models.model_path("face_landmark")

    message = str(raised.value)
    assert "\n" not in message
    assert str(models_folder / "face_landmark.tflite") in message and "missing" in message
    assert "python -m preprocessing.models fetch" in message and "make models" in message
    assert not models.models_available()


def test_model_path_refuses_a_file_with_the_wrong_content(models_folder):
    models_folder.mkdir()
    (models_folder / "selfie_segmentation.tflite").write_bytes(b"not the model")

    with pytest.raises(ModelUnavailableError) as raised:
        models.model_path("selfie_segmentation")

    message = str(raised.value)
    assert "\n" not in message
    assert "SHA-256 mismatch" in message and sha256(b"not the model") in message
    assert "preprocessing.models fetch" in message


def test_model_path_of_an_unknown_name_lists_the_models():
    with pytest.raises(ValueError, match="selfie_segmentation, face_detection_short_range, face_landmark"):
        models.model_path("face_mesh")


def test_model_path_hashes_a_file_once_until_it_changes(models_folder, monkeypatch):
    monkeypatch.setattr(models, "MODELS", fake_models())
    models_folder.mkdir()
    for model in models.MODELS.values():
        (models_folder / model.filename).write_bytes(FAKE_CONTENTS[model.name])
    hashed = []
    hash_file = models._hash_file
    monkeypatch.setattr(models, "_hash_file", lambda path: hashed.append(path) or hash_file(path))

    path = models.model_path("face_landmark")
    assert models.model_path("face_landmark") == path == models_folder / "face_landmark.tflite"
    assert models.models_available()
    assert hashed.count(path) == 1

    path.write_bytes(b"changed, and longer than before: " * 4)
    with pytest.raises(ModelUnavailableError, match="SHA-256 mismatch"):
        models.model_path("face_landmark")
    assert not models.models_available()


def test_status_on_an_empty_folder_lists_each_model_as_missing_and_exits_1(run_cli, tmp_path):
    result = run_cli("models", "status", env={"XGAN_TOOLKIT_MODELS": str(tmp_path)})

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == [f"{name}: {tmp_path / model.filename} (missing)" for name, model in models.MODELS.items()]


def test_help_explains_the_commands_and_the_variable(run_cli):
    result = run_cli("models", "--help")

    assert result.returncode == 0
    assert "fetch" in result.stdout and "status" in result.stdout and "$XGAN_TOOLKIT_MODELS" in result.stdout


def test_cli_fetch_then_status(local_index, models_folder, monkeypatch, capsys):
    monkeypatch.setattr(models, "MODELS", fake_models())
    write_fake_wheel(local_index)

    assert models.main(["fetch"]) == 0
    assert "installed 3 models" in capsys.readouterr().err
    assert models.main(["status"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"face_landmark: {models_folder / 'face_landmark.tflite'} (ok)"


def test_cli_fetch_error_is_one_line_with_exit_code_2(local_index, models_folder, capsys):
    assert models.main(["fetch"]) == 2

    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("preprocessing.models: error: `pip download mediapipe==0.10.14` failed")
    assert "No matching distribution" in error
    assert not models_folder.exists() or list(models_folder.iterdir()) == []


@pytest.mark.slow
def test_fetch_downloads_the_pinned_wheel_from_the_registry(tmp_path):
    paths = models.fetch(tmp_path)

    assert {path.name: sha256(path.read_bytes()) for path in paths} == {
        model.filename: model.sha256 for model in models.MODELS.values()
    }
    assert sorted(tmp_path.iterdir()) == sorted(paths)
