"""remove_background: GrabCut, and the HTTP API path (multipart, key rotation) on a local server."""

from __future__ import annotations

import email
import email.policy
import io
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from preprocessing import annotation_table, folder_job, remove_background, synthetic

FLAGS = (
    "--method",
    "--keep_failed",
    "--output",
    "--rect_margin",
    "--iterations",
    "--api_url",
    "--api_keys_file",
    "--api_timeout",
)
QUOTA_KEY, RATE_LIMITED_KEY, GOOD_KEY = "k1-quota-9f3b", "k2-ratelimited-51aa", "k3-good-c07e"
ANSWER_SIZE = (6, 5)
# Sub-processes must reach 127.0.0.1 directly even where a proxy is configured.
LOCAL_ENV = {"no_proxy": "127.0.0.1", "NO_PROXY": "127.0.0.1"}


def _answer_png() -> bytes:
    rgba = np.zeros((ANSWER_SIZE[1], ANSWER_SIZE[0], 4), np.uint8)
    rgba[1:4, 2:4] = (10, 120, 230, 255)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class RecordedRequest:
    key: str
    fields: dict[str, str]
    filename: str
    content: bytes


class FakeRemoveBg:
    """A remove.bg-like endpoint on 127.0.0.1; `status_for(key, filename)` picks each answer."""

    def __init__(self, status_for: Callable[[str, str], int]):
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class(status_for))
        serve = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        serve.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1.0/removebg"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self, status_for):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key, content_type = self.headers["X-Api-Key"], self.headers["Content-Type"]
                request = _parse_multipart(key, content_type, body)
                server.requests.append(request)
                status = status_for(request.key, request.filename)
                answer = _answer_png() if status == 200 else b'{"errors": []}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        return Handler


def _parse_multipart(key: str, content_type: str, body: bytes) -> RecordedRequest:
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.HTTP
    )
    assert message.is_multipart()
    fields, filename, content = {}, None, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename():
            assert name == "image_file"
            filename, content = part.get_filename(), part.get_payload(decode=True)
        else:
            fields[name] = part.get_payload(decode=True).decode()
    return RecordedRequest(key, fields, filename, content)


@pytest.fixture
def fake_remove_bg():
    """`fake_remove_bg(status_for)` -> a running FakeRemoveBg, shut down after the test."""
    servers = []

    def start(status_for) -> FakeRemoveBg:
        servers.append(FakeRemoveBg(status_for))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _keys_file(tmp_path, *keys):
    path = tmp_path / "keys.txt"
    path.write_text("# remove.bg keys\n" + "\n".join(keys) + "\n\n")
    return path


def _assert_no_key_printed(result, keys=(QUOTA_KEY, RATE_LIMITED_KEY, GOOD_KEY)):
    for key in keys:
        assert key not in result.stdout + result.stderr


def test_grabcut_mask_covers_the_object_and_not_the_corners():
    rows, columns = np.mgrid[:80, :80]
    rng = np.random.default_rng(0)
    # A plain, slightly noisy background with a blue disc of radius 22 in the middle.
    image = np.clip(rng.normal(225, 4, (80, 80, 3)), 0, 255).astype(np.uint8)
    image[(rows - 40) ** 2 + (columns - 40) ** 2 < 22**2] = (30, 60, 160)
    mask = remove_background.grabcut_mask(image, rect_margin=0.1, iterations=3)
    assert mask[30:50, 30:50].all()
    assert not mask[:6, :6].any() and not mask[-6:, -6:].any()
    assert not mask[0, 40] and not mask[40, -1]


def test_grabcut_refuses_an_image_too_small_for_the_rectangle():
    with pytest.raises(folder_job.SkipFile, match="too small"):
        remove_background.grabcut_mask(np.zeros((2, 2, 3), np.uint8), rect_margin=0.05, iterations=1)


def test_api_keys_come_from_the_file_or_the_environment(tmp_path, monkeypatch):
    assert remove_background.read_api_keys(str(_keys_file(tmp_path, "a", " b "))) == ["a", "b"]
    monkeypatch.setenv(remove_background.API_KEYS_ENVIRONMENT_VARIABLE, "x, y,,")
    assert remove_background.read_api_keys(None) == ["x", "y"]
    monkeypatch.setenv(remove_background.API_KEYS_ENVIRONMENT_VARIABLE, "")
    with pytest.raises(folder_job.JobSetupError, match="REMOVE_BG_API_KEYS"):
        remove_background.read_api_keys(None)
    monkeypatch.setenv(remove_background.API_KEYS_ENVIRONMENT_VARIABLE, "good,caf\u00e9")
    with pytest.raises(folder_job.JobSetupError, match="key #2 ") as error:
        remove_background.read_api_keys(None)
    assert "caf" not in str(error.value)


def test_cli_grabcut_writes_rgba_with_the_mask_as_alpha(mixed_image_folder, run_cli, tmp_path):
    destination = tmp_path / "out"
    result = run_cli(
        "remove_background", mixed_image_folder.path, destination, "--method", "grabcut", "--output", "rgba"
    )
    assert result.returncode == 0, result.stderr
    output = np.asarray(Image.open(destination / "face_1.png"))
    assert output.shape == (120, 96, 4)
    assert output[0, 0, 3] == 0 and output[60, 48, 3] == 255  # corner cut away, face kept


def test_api_rotates_keys_on_402_and_429_and_never_prints_them(
    mixed_image_folder, run_cli, fake_remove_bg, file_hashes, tmp_path
):
    folder, good, bad = mixed_image_folder
    statuses = {QUOTA_KEY: 402, RATE_LIMITED_KEY: 429, GOOD_KEY: 200}
    server = fake_remove_bg(lambda key, filename: statuses[key])
    keys = _keys_file(tmp_path, QUOTA_KEY, RATE_LIMITED_KEY, GOOD_KEY)
    before = file_hashes(folder)
    destination = tmp_path / "out"

    result = run_cli(
        "remove_background",
        folder,
        destination,
        "--method",
        "api",
        "--api_url",
        server.url,
        "--api_keys_file",
        keys,
        env=LOCAL_ENV,
    )

    assert result.returncode == 0, result.stderr
    # The first image tries key #1, then #2, then #3; the others go straight to #3.
    keys_used = [request.key for request in server.requests]
    assert keys_used == [QUOTA_KEY, RATE_LIMITED_KEY] + [GOOD_KEY] * len(good)
    sent = {request.content for request in server.requests if request.key == GOOD_KEY}
    assert sent == {(folder / name).read_bytes() for name in good}  # unreadable files are not sent
    assert all(request.fields == {"size": "auto"} for request in server.requests)
    for name in good:
        assert Image.open((destination / name).with_suffix(".png")).size == ANSWER_SIZE
    for name in bad:
        assert str(folder / name) in result.stdout
    assert f"processed with key #3: {len(good)}" in result.stdout
    assert "key #1: HTTP 402" in result.stderr and "key #2: HTTP 429" in result.stderr
    _assert_no_key_printed(result)
    assert file_hashes(folder) == before


def test_api_stops_cleanly_when_every_key_is_exhausted(mixed_image_folder, run_cli, fake_remove_bg, tmp_path):
    folder, good, _ = mixed_image_folder
    server = fake_remove_bg(lambda key, filename: 402 if key == QUOTA_KEY else 429)
    destination = tmp_path / "out"

    result = run_cli(
        "remove_background",
        folder,
        destination,
        "--method",
        "api",
        "--api_url",
        server.url,
        env={**LOCAL_ENV, "REMOVE_BG_API_KEYS": f"{QUOTA_KEY},{RATE_LIMITED_KEY}"},
    )

    # Stopping early is not success: exit code 1, with the summary on stdout.
    assert result.returncode == folder_job.EXIT_STOPPED
    assert "Traceback" not in result.stdout + result.stderr
    assert "stopped early:  all 2 API keys are exhausted" in result.stdout
    for name in good:
        assert f"    - {folder / name}" in result.stdout
    assert not list(destination.rglob("*.png"))
    assert len(server.requests) == 2  # each key is tried once, then set aside
    _assert_no_key_printed(result)


def test_api_skips_an_image_the_api_fails_on_and_goes_on(mixed_image_folder, run_cli, fake_remove_bg, tmp_path):
    folder, good, bad = mixed_image_folder
    server = fake_remove_bg(lambda key, filename: 500 if filename == "gray.png" else 200)
    destination = tmp_path / "out"

    result = run_cli(
        "remove_background",
        folder,
        destination,
        "--method",
        "api",
        "--api_url",
        server.url,
        "--output",
        "rgba",
        env={**LOCAL_ENV, "REMOVE_BG_API_KEYS": GOOD_KEY},
    )

    assert result.returncode == 0, result.stderr
    assert f"{folder / 'gray.png'}: the API answered HTTP 500" in result.stdout
    assert f"skipped:        {len(bad) + 1}" in result.stdout
    assert Image.open(destination / "photo.png").mode == "RGBA"
    _assert_no_key_printed(result, keys=(GOOD_KEY,))


def _blank_images(folder):
    """Two images without a subject beside the photos: white paper and a grey wall."""
    Image.fromarray(np.full((128, 128, 3), 255, np.uint8)).save(folder / "white.png")
    Image.fromarray(np.full((128, 128, 3), 120, np.uint8)).save(folder / "grey.png")


def test_cli_selfie_paints_the_background_white_keeps_the_head_and_carries_the_annotations(
    synthetic_photo_folder, face_models, run_cli, tmp_path
):
    destination = tmp_path / "out"
    result = run_cli("remove_background", synthetic_photo_folder, destination)
    assert result.returncode == 0, result.stderr
    assert "written:        8" in result.stdout
    for index in range(8):
        record = synthetic.make_record("photo", 0, index, 128)
        output = np.asarray(Image.open(destination / f"{index:06d}.png"))
        person = face_models.segmenter.person_mask(record["image"])
        background, subject, head = person < 0.01, person > 0.995, record["mask"] > 127
        assert np.all(output[background] >= 250)  # painted white (alpha under 1% moves a pixel at most 3 levels)
        assert np.any(record["image"][background] < 200)  # where the scene was not white
        assert np.abs(output[subject].astype(int) - record["image"][subject]).max() <= 2  # the subject kept
        assert (subject & head).sum() > 0.8 * head.sum()  # most of the head is sure subject
    # The geometry is unchanged, so each row of SRC's annotations.csv goes along, attributes included.
    source_table = annotation_table.read_table(synthetic_photo_folder / annotation_table.ANNOTATIONS_FILE)
    assert annotation_table.read_table(destination / annotation_table.ANNOTATIONS_FILE) == source_table


@pytest.mark.parametrize("method", ["selfie", "grabcut"])
def test_an_image_without_a_subject_is_listed_and_not_written(
    method, synthetic_photo_folder, face_models, run_cli, tmp_path
):
    _blank_images(synthetic_photo_folder)
    destination = tmp_path / "out"
    result = run_cli("remove_background", synthetic_photo_folder, destination, "--method", method)
    assert result.returncode == 0, result.stderr
    assert "no subject found, not written: 2" in result.stdout
    for name in ("white.png", "grey.png"):
        assert f"{synthetic_photo_folder / name}: the subject covers" in result.stdout
        assert not (destination / name).exists()
    assert (destination / "000000.png").exists()


def test_keep_failed_writes_an_image_without_a_subject_as_it_is(synthetic_photo_folder, face_models, run_cli, tmp_path):
    _blank_images(synthetic_photo_folder)
    destination = tmp_path / "out"
    result = run_cli("remove_background", synthetic_photo_folder, destination, "--keep_failed")
    assert result.returncode == 0, result.stderr
    assert f"{remove_background.KEPT_AS_IS}: 2" in result.stdout
    np.testing.assert_array_equal(np.asarray(Image.open(destination / "grey.png")), np.full((128, 128, 3), 120))


def test_cli_selfie_without_the_model_says_how_to_fetch_it(mixed_image_folder, run_cli, tmp_path):
    environment = {"XGAN_TOOLKIT_MODELS": str(tmp_path / "no_models")}
    result = run_cli("remove_background", mixed_image_folder.path, tmp_path / "out", env=environment)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "preprocessing.models fetch" in result.stderr
    assert not (tmp_path / "out").exists()


def test_help_describes_every_flag(run_cli):
    result = run_cli("remove_background", "--help")
    assert "python -m preprocessing.remove_background SRC DST" in result.stdout
    for flag in FLAGS:
        assert flag in result.stdout
