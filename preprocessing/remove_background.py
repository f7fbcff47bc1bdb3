"""Remove the background behind the subject of photos (faces).

usage: python -m preprocessing.remove_background SRC DST [flags]

Every image under SRC is written to DST/<same relative path>.png without its
background, composited on white (--output white) or as RGBA with the
foreground mask as alpha (--output rgba). Three methods:
  selfie   offline, the default: MediaPipe's selfie segmentation, a soft person
           mask that keeps the hair (fetched by `python -m preprocessing.models fetch`);
  grabcut  offline, OpenCV's GrabCut started from a central rectangle that
           leaves --rect_margin of the image on each side as sure background;
  api      a remove.bg-compatible HTTP API (--api_url). API keys come from
           --api_keys_file (one per line) or the REMOVE_BG_API_KEYS environment
           variable (comma-separated). A key answered with HTTP 402 (no credits)
           or 429 (rate limit) is set aside and the same image is retried with
           the next key; when no key is left the run stops with a summary listing
           the images not processed (exit code 1). Keys are never printed: they
           are referred to as "key #1", "key #2", ...
An image in which selfie or GrabCut finds no subject (less than
MIN_SUBJECT_FRACTION of it) is listed and not written, unless --keep_failed
writes it as it is. SRC/annotations.csv rows go along to DST. Unreadable files
are skipped and listed (never sent to the API); SRC is never written to.
"""

from __future__ import annotations

import functools
import http.client
import io
import mimetypes
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import cv2
import numpy as np
from absl import flags
from PIL import Image
from tqdm import tqdm

from preprocessing import folder_job, image_io, models
from preprocessing.face_models import PersonSegmenter

DEFAULT_API_URL = "https://api.remove.bg/v1.0/removebg"
API_KEYS_ENVIRONMENT_VARIABLE = "REMOVE_BG_API_KEYS"
# The answers that mean "this key is used up for now", not "this image is bad".
KEY_EXHAUSTED_STATUSES = {402: "no credits left", 429: "rate limit reached"}
# An image whose subject covers less of it than this has none: writing it would put a blank into a training set.
MIN_SUBJECT_FRACTION = 0.01
# The selfie mask is a probability; the subject is where it passes one half.
SUBJECT_PROBABILITY = 0.5
KEPT_AS_IS = "no subject found, written as it is (--keep_failed)"


def processed_with(key_name: str) -> str:
    """The summary counter of the images an API key processed."""
    return f"processed with {key_name}"


def grabcut_mask(rgb: np.ndarray, rect_margin: float, iterations: int) -> np.ndarray:
    """HxW bool foreground mask from GrabCut started with a central rectangle.

    The band of `rect_margin` of each side outside the rectangle is sure
    background; it keeps at least one pixel so GrabCut has background samples.
    """
    height, width = rgb.shape[:2]
    margin_x = max(1, int(round(rect_margin * width)))
    margin_y = max(1, int(round(rect_margin * height)))
    if width - 2 * margin_x < 1 or height - 2 * margin_y < 1:
        raise folder_job.SkipFile(f"{width}x{height} is too small for --rect_margin {rect_margin}")
    rectangle = (margin_x, margin_y, width - 2 * margin_x, height - 2 * margin_y)
    mask = np.zeros((height, width), np.uint8)
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut seeds its colour models with k-means: same input, same mask.
    try:
        # Channel order does not matter to GrabCut's colour models, so RGB is passed as is.
        cv2.grabCut(rgb, mask, rectangle, background_model, foreground_model, iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error as error:
        raise folder_job.SkipFile(f"GrabCut failed ({error.err})") from error
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def as_output(rgba: np.ndarray, output: str) -> np.ndarray:
    """The image to write for --output: RGBA as is, or composited on white."""
    return rgba if output == "rgba" else image_io.composite_on(rgba)


def masked_result(rgb: np.ndarray, alpha: np.ndarray, output: str, keep_failed: bool) -> folder_job.FileResult:
    """The image without its background (alpha: HxW in [0, 1]), or NoSubjectFound when there is no subject."""
    subject_fraction = float(np.mean(alpha >= SUBJECT_PROBABILITY))
    if subject_fraction < MIN_SUBJECT_FRACTION:
        if keep_failed:
            return folder_job.FileResult(rgb, counters=(KEPT_AS_IS,))
        raise folder_job.NoSubjectFound(f"the subject covers {subject_fraction:.1%} of the image")
    alpha_channel = np.round(alpha * 255).astype(np.uint8)
    return folder_job.FileResult(as_output(np.dstack([rgb, alpha_channel]), output))


def process_with_grabcut(
    path: Path, rect_margin: float, iterations: int, output: str, keep_failed: bool
) -> folder_job.FileResult:
    rgb = image_io.read_rgb(path)
    foreground = grabcut_mask(rgb, rect_margin, iterations)
    return masked_result(rgb, foreground.astype(np.float32), output, keep_failed)


def process_with_selfie(
    path: Path, segmenter: PersonSegmenter, output: str, keep_failed: bool
) -> folder_job.FileResult:
    rgb = image_io.read_rgb(path)
    return masked_result(rgb, segmenter.person_mask(rgb), output, keep_failed)


def read_api_keys(keys_file: str | None) -> list[str]:
    """Keys from the file (one per line; blank lines and # comments ignored) or the env var."""
    if keys_file:
        try:
            lines = Path(keys_file).read_text().splitlines()
        except OSError as error:
            raise folder_job.JobSetupError(f"--api_keys_file {keys_file}: {error}") from None
        except UnicodeDecodeError:
            # The decoder's message quotes a byte of the file: of a key, maybe.
            raise folder_job.JobSetupError(f"--api_keys_file {keys_file}: not UTF-8 text") from None
        keys = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
        where = f"--api_keys_file {keys_file}"
    else:
        variable = os.environ.get(API_KEYS_ENVIRONMENT_VARIABLE, "")
        keys = [key.strip() for key in variable.split(",") if key.strip()]
        where = f"the {API_KEYS_ENVIRONMENT_VARIABLE} environment variable"
    if not keys:
        raise folder_job.JobSetupError(f"--method api needs API keys: none found in {where}")
    for number, key in enumerate(keys, start=1):
        if not (key.isascii() and key.isprintable()):
            raise folder_job.JobSetupError(f"key #{number} in {where} has characters an HTTP header cannot carry")
    return keys


def multipart_form(fields: dict[str, str], file_field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request with text fields and one file."""
    boundary = uuid.uuid4().hex
    # Escaped as browsers do (HTML spec), so a name cannot break out of its header.
    filename = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    file_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{filename}"\r\nContent-Type: {file_type}\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class RemoveBgClient:
    """Posts images to a remove.bg-compatible endpoint, rotating through API keys.

    The key in use stays in use until the API answers 402 or 429 for it; it is
    then set aside for the rest of the run. Keys only ever appear in the
    request header: messages call them "key #N" (1-based, in file order).
    """

    def __init__(self, url: str, keys: list[str], timeout: float):
        self._url, self._keys, self._timeout = url, keys, timeout
        self._current = 0
        self._set_aside: list[str] = []  # "key #N: HTTP 402 (no credits left)"

    @property
    def key_names(self) -> list[str]:
        return [f"key #{number}" for number in range(1, len(self._keys) + 1)]

    def remove_background(self, filename: str, content: bytes) -> tuple[bytes, str]:
        """(response body, name of the key that succeeded) for one image file's bytes."""
        while self._current < len(self._keys):
            key_name = self.key_names[self._current]
            status, body = self._post(self._keys[self._current], filename, content)
            if status not in KEY_EXHAUSTED_STATUSES:
                return body, key_name
            self._set_key_aside(key_name, status)
        raise folder_job.StopJob(f"all {len(self._keys)} API keys are exhausted ({'; '.join(self._set_aside)})")

    def _set_key_aside(self, key_name: str, status: int) -> None:
        self._set_aside.append(f"{key_name}: HTTP {status} ({KEY_EXHAUSTED_STATUSES[status]})")
        self._current += 1
        following = (
            f"retrying with {self.key_names[self._current]}" if self._current < len(self._keys) else "no key left"
        )
        tqdm.write(f"{self._set_aside[-1]}; {following}", file=sys.stderr)

    def _post(self, key: str, filename: str, content: bytes) -> tuple[int, bytes]:
        """(HTTP status, body) of a successful or key-exhausted answer; SkipFile otherwise."""
        body, content_type = multipart_form({"size": "auto"}, "image_file", filename, content)
        request = urllib.request.Request(
            self._url,
            data=body,
            method="POST",
            headers={"X-Api-Key": key, "Content-Type": content_type},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            error.close()
            if error.code in KEY_EXHAUSTED_STATUSES:
                return error.code, b""
            raise folder_job.SkipFile(f"the API answered HTTP {error.code} ({error.reason})") from None
        except (OSError, http.client.HTTPException) as error:
            # Connection refused, timeout, broken answer: this image fails, the next may not.
            raise folder_job.SkipFile(f"no answer from the API ({error})") from None


def decode_api_png(body: bytes) -> np.ndarray:
    """HxWx4 uint8 from the API's response body."""
    try:
        image = Image.open(io.BytesIO(body))
        image.load()
    except (OSError, ValueError, SyntaxError) as error:
        raise folder_job.SkipFile(f"the API's answer is not an image ({error})") from None
    return np.asarray(image.convert("RGBA"))


def process_with_api(path: Path, client: RemoveBgClient, output: str) -> folder_job.FileResult:
    image_io.read_rgb(path)  # an unreadable file is skipped here, not paid for by the API
    body, key_name = client.remove_background(path.name, path.read_bytes())
    return folder_job.FileResult(as_output(decode_api_png(body), output), counters=(processed_with(key_name),))


def define_flags() -> None:
    flags.DEFINE_enum(
        "method",
        "selfie",
        ["selfie", "grabcut", "api"],
        "selfie: MediaPipe's selfie segmentation (soft mask, keeps the hair; `python -m preprocessing.models "
        "fetch` gets it); grabcut: OpenCV's GrabCut; api: a remove.bg-compatible HTTP API (--api_url).",
    )
    flags.DEFINE_bool(
        "keep_failed",
        False,
        f"selfie, grabcut: write an image in which no subject is found (under {MIN_SUBJECT_FRACTION:.0%} of "
        "it) as it is, instead of listing it and writing nothing.",
    )
    flags.DEFINE_enum(
        "output",
        "white",
        ["white", "rgba"],
        "white: composite the foreground on white; rgba: keep the mask as the alpha channel.",
    )
    flags.DEFINE_float(
        "rect_margin",
        0.05,
        "GrabCut: fraction of the width/height on each side taken as sure background "
        "(outside the initial rectangle; at least 1 px).",
        lower_bound=0.0,
        upper_bound=0.49,
    )
    flags.DEFINE_integer("iterations", 5, "GrabCut: number of iterations.", lower_bound=1)
    flags.DEFINE_string("api_url", DEFAULT_API_URL, "API: the remove.bg-compatible endpoint.")
    flags.DEFINE_string(
        "api_keys_file",
        None,
        f"API: file with one API key per line; without it, keys are read from the "
        f"{API_KEYS_ENVIRONMENT_VARIABLE} environment variable (comma-separated).",
    )
    flags.DEFINE_float("api_timeout", 60.0, "API: seconds to wait for the answer to one image.", lower_bound=0.1)


def build_job() -> folder_job.FileJob:
    options = flags.FLAGS
    if options.method == "selfie":
        try:
            segmenter = PersonSegmenter.load()
        except models.ModelUnavailableError as error:
            raise folder_job.JobSetupError(f"--method selfie: {error}") from None
        process = functools.partial(
            process_with_selfie, segmenter=segmenter, output=options.output, keep_failed=options.keep_failed
        )
        return folder_job.FileJob(process, counter_names=(KEPT_AS_IS,), keeps_geometry=True)
    if options.method == "grabcut":
        process = functools.partial(
            process_with_grabcut,
            rect_margin=options.rect_margin,
            iterations=options.iterations,
            output=options.output,
            keep_failed=options.keep_failed,
        )
        return folder_job.FileJob(process, counter_names=(KEPT_AS_IS,), keeps_geometry=True)
    if urllib.parse.urlsplit(options.api_url).scheme not in ("http", "https"):
        raise folder_job.JobSetupError(f"--api_url {options.api_url}: expected an http(s) URL")
    keys = read_api_keys(options.api_keys_file)
    client = RemoveBgClient(options.api_url, keys, options.api_timeout)
    process = functools.partial(process_with_api, client=client, output=options.output)
    counters = tuple(processed_with(name) for name in client.key_names)
    return folder_job.FileJob(process, counter_names=counters, keeps_geometry=True)


if __name__ == "__main__":
    # Flags are defined here, not on import, so tests can import several CLIs at once.
    define_flags()
    folder_job.run_cli(build_job)
