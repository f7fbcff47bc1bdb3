"""stargan_v2.translate: the StyleTranslator of a networks directory and the guided-translation CLI."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import keras
import numpy as np
import pytest
from absl import flags
from PIL import Image

from preprocessing import folder_job
from stargan_v2 import translate, translate_folders
from stargan_v2.wing import heatmap_masks
from tests.stargan_v2.conftest import TINY_IMAGE_SIZE, make_networks_dir
from training.translate import read_prepared, to_uint8

S = TINY_IMAGE_SIZE


def random_images(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (count, S, S, 3)).astype(np.float32)


def write_images(folder, names, seed: int, size=(40, 48)):
    """Random RGB PNGs of `size` (height, width), not the networks' size, so the CLI has to resize them."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in names:
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / name)
    return folder


def prepared(path) -> np.ndarray:
    return keras.ops.convert_to_numpy(read_prepared(path, S))


def read_png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def parse(*argv: str) -> flags.FlagValues:
    flag_values = flags.FlagValues()
    translate.define_flags(flag_values)
    flag_values(["translate", *argv])
    return flag_values


def run_cli(*argv: str) -> int:
    return translate.translate_from_flags(parse(*argv))


@pytest.fixture(scope="module")
def translator(tiny_networks_dir):
    return translate.StyleTranslator.load(tiny_networks_dir)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """sources/ (2 images, one in a sub-folder) and refs/ (3 images), 40x48 px."""
    root = tmp_path_factory.mktemp("guided")
    write_images(root / "sources", ["a.png"], seed=1)
    write_images(root / "sources" / "more", ["b.jpg"], seed=2)
    write_images(root / "refs", ["r0.png", "r1.png", "r2.png"], seed=3)
    return root / "sources", root / "refs"


def test_load_reads_the_domains_and_the_networks(translator):
    assert translator.domains == ("photo", "cartoon")
    assert (translator.image_size, translator.latent_dim, translator.fan) == (S, 8, None)


def test_with_reference_is_deterministic_follows_the_reference_and_its_domain(translator):
    sources, references = random_images(2, seed=0), random_images(2, seed=1)

    outputs = translator.with_reference(sources, references, "cartoon")

    assert outputs.shape == (2, S, S, 3) and outputs.dtype == np.float32
    assert outputs.min() >= -1.0 and outputs.max() <= 1.0
    np.testing.assert_array_equal(translator.with_reference(sources, references, "cartoon"), outputs)
    assert not np.allclose(translator.with_reference(sources, references[::-1], "cartoon"), outputs, atol=1e-3)
    assert not np.allclose(translator.with_reference(sources, references, "photo"), outputs, atol=1e-3)
    # The style is the style encoder's cartoon head applied to the reference.
    sources, references = keras.ops.convert_to_tensor(sources), keras.ops.convert_to_tensor(references)
    styles = translator.style_encoder([references, keras.ops.ones((2,), "int32")], training=False)
    expected = np.clip(translator.generator([sources, styles], training=False), -1, 1)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)


def test_batches_give_what_one_call_gives(translator):
    sources, references = random_images(3, seed=2), random_images(3, seed=3)
    in_pairs = dataclasses.replace(translator, batch_size=2)

    np.testing.assert_allclose(
        in_pairs.with_reference(sources, references, "photo"),
        translator.with_reference(sources, references, "photo"),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        in_pairs.with_latent(sources, "photo", 2, seed=4),
        translator.with_latent(sources, "photo", 2, seed=4),
        atol=1e-5,
    )


def test_with_latent_gives_k_distinct_styles_reproducible_by_seed(translator):
    sources = random_images(2, seed=5)

    outputs = translator.with_latent(sources, "cartoon", 3, seed=7)

    assert outputs.shape == (2, 3, S, S, 3) and outputs.dtype == np.float32
    for first, second in ((0, 1), (0, 2), (1, 2)):
        assert not np.allclose(outputs[:, first], outputs[:, second], atol=1e-3)
    np.testing.assert_array_equal(translator.with_latent(sources, "cartoon", 3, seed=7), outputs)
    styles = translator.latent_styles("cartoon", 3, seed=7)
    np.testing.assert_array_equal(translator.latent_styles("cartoon", 3, seed=7), styles)
    assert not np.allclose(translator.latent_styles("cartoon", 3, seed=8), styles, atol=1e-3)
    assert not np.allclose(translator.latent_styles("photo", 3, seed=7), styles, atol=1e-3)
    # [:, k] is style k for every source.
    expected = translator.generate(sources, np.repeat(styles[2:], 2, axis=0))
    np.testing.assert_allclose(outputs[:, 2], expected, atol=1e-5)


def test_psi_pulls_every_style_to_the_domains_mean_style(translator):
    styles = translator.latent_styles("cartoon", 4, seed=1)
    mean = translator.latent_styles("cartoon", 4, seed=1, psi=0.0)

    np.testing.assert_allclose(mean, np.broadcast_to(mean[0], mean.shape), atol=1e-6)  # psi 0: the mean itself
    half = translator.latent_styles("cartoon", 4, seed=1, psi=0.5)
    np.testing.assert_allclose(half, (styles + mean) / 2, atol=1e-5)  # lerp(s_avg, s, 0.5)
    # The first codes of a seed and its mean style do not depend on how many codes are drawn.
    np.testing.assert_allclose(translator.latent_styles("cartoon", 2, seed=1, psi=0.5), half[:2], atol=1e-6)


def test_reference_grid_is_the_official_layout_and_files_hold_every_pair(
    translator, tiny_networks_dir, folders, tmp_path
):
    sources, refs = folders
    out = tmp_path / "out"

    code = run_cli(
        f"--run_dir={tiny_networks_dir}",
        f"--input={sources}",
        f"--reference={refs}",
        f"--output={out}",
        "--grid",
    )

    assert code == folder_job.EXIT_COMPLETED
    source_files, ref_files = [sources / "a.png", sources / "more" / "b.jpg"], sorted(refs.glob("*.png"))
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*.png")) == sorted(
        ["reference_grid.png"] + [f"{source}/{ref}.png" for source in ("a", "more/b") for ref in ("r0", "r1", "r2")]
    )
    grid = read_png(out / "reference_grid.png")
    assert grid.shape == ((1 + 3) * S, (1 + 2) * S, 3)

    def cell(row, column):
        return grid[row * S : (row + 1) * S, column * S : (column + 1) * S]

    assert (cell(0, 0) == 255).all()
    for column, source in enumerate(source_files, start=1):
        np.testing.assert_array_equal(cell(0, column), to_uint8(prepared(source)))
    for row, ref in enumerate(ref_files, start=1):
        np.testing.assert_array_equal(cell(row, 0), to_uint8(prepared(ref)))
    pair = translator.with_reference(prepared(source_files[1])[None], prepared(ref_files[2])[None], "cartoon")
    np.testing.assert_array_equal(cell(3, 2), to_uint8(pair[0]))
    np.testing.assert_array_equal(read_png(out / "more" / "b" / "r2.png"), to_uint8(pair[0]))


def test_latent_grid_has_a_row_per_source_and_files_per_style(translator, tiny_networks_dir, folders, tmp_path, capsys):
    sources, _ = folders
    out = tmp_path / "out"

    code = run_cli(
        f"--run_dir={tiny_networks_dir}",
        f"--input={sources}",
        "--latent=3",
        "--target_domain=photo",
        "--seed=5",
        f"--output={out}",
        "--grid",
    )

    assert code == folder_job.EXIT_COMPLETED
    grid = read_png(out / "latent_grid.png")
    assert grid.shape == (2 * S, (1 + 3) * S, 3)
    outputs = translator.with_latent(prepared(sources / "a.png")[None], "photo", 3, seed=5)[0]
    for k in range(3):
        np.testing.assert_array_equal(read_png(out / "a" / f"photo_{k}.png"), to_uint8(outputs[k]))
        np.testing.assert_array_equal(grid[:S, (1 + k) * S : (2 + k) * S], to_uint8(outputs[k]))
    assert (out / "more" / "b" / "photo_2.png").is_file()
    assert f"grid: {out / 'latent_grid.png'}" in capsys.readouterr().out


def test_corrupt_and_non_image_files_are_skipped_and_counted(tiny_networks_dir, tmp_path, capsys):
    sources = write_images(tmp_path / "sources", ["a.png"], seed=1)
    (sources / "x.png").write_bytes(b"not a png at all")
    (sources / "notes.txt").write_text("not an image")
    refs = write_images(tmp_path / "refs", ["r.png"], seed=2)
    (refs / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    out = tmp_path / "out"

    code = run_cli(f"--run_dir={tiny_networks_dir}", f"--input={sources}", f"--reference={refs}", f"--output={out}")

    assert code == folder_job.EXIT_COMPLETED
    summary = capsys.readouterr().out
    assert "images found:   2 under" in summary and "written:        1 to" in summary
    assert "skipped:        2" in summary
    assert f"{sources / 'x.png'}: cannot decode image" in summary
    assert f"{refs / 'broken.jpg'}: cannot decode image" in summary
    assert f"{translate_folders.SOURCES_TRANSLATED}: 1" in summary
    assert f"{translate_folders.REFERENCES_READ}: 1" in summary
    assert [path.relative_to(out).as_posix() for path in out.rglob("*.png")] == ["a/r.png"]


def test_folders_without_a_readable_image_are_one_line_errors(tiny_networks_dir, tmp_path, capsys):
    sources = write_images(tmp_path / "sources", ["a.png"], seed=1)
    empty, unreadable = tmp_path / "empty", tmp_path / "unreadable"
    empty.mkdir()
    unreadable.mkdir()
    (unreadable / "x.png").write_bytes(b"garbage")
    common = (f"--run_dir={tiny_networks_dir}", f"--output={tmp_path / 'out'}")

    assert run_cli(*common, f"--input={empty}", "--latent=1") == folder_job.EXIT_USAGE
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {empty}: no image files")
    assert run_cli(*common, f"--input={sources}", f"--reference={unreadable}") == folder_job.EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [f"error: {unreadable}: none of its 1 images could be read"]
    assert run_cli(*common, f"--input={unreadable}", "--latent=1") == folder_job.EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [f"error: {unreadable}: none of its 1 images could be read"]
    assert not (tmp_path / "out").exists()
    # Outputs never go among the inputs.
    assert run_cli(common[0], f"--input={sources}", "--latent=1", f"--output={sources / 'out'}") == 2
    assert "must not be SRC or inside SRC" in capsys.readouterr().err


def test_setup_mistakes_are_one_line_errors(tiny_networks_dir, tmp_path, capsys):
    sources = write_images(tmp_path / "sources", ["a.png"], seed=1)
    common = (f"--input={sources}", f"--output={tmp_path / 'out'}")
    without_exports = tmp_path / "networks"
    without_exports.mkdir()
    (without_exports / "config.json").write_text((tiny_networks_dir / "config.json").read_text())

    cases = {
        (f"--run_dir={without_exports}", "--latent=1"): (
            f"error: {without_exports}/export/generator.keras: no exported generator ({translate.SETUP_HINT})"
        ),
        (f"--run_dir={tmp_path}", "--latent=1"): (
            f"error: {tmp_path}/config.json: no run config of StarGAN v2 networks ({translate.SETUP_HINT})"
        ),
        (f"--run_dir={tiny_networks_dir}", "--latent=1", "--target_domain=dog"): (
            "error: unknown domain 'dog'; the networks' domains: photo, cartoon"
        ),
        (f"--run_dir={tiny_networks_dir}",): (
            "error: give either --reference DIR (reference-guided) or --latent K (latent-guided)"
        ),
        (f"--run_dir={tiny_networks_dir}", "--latent=1", f"--reference={sources}"): (
            "error: give either --reference DIR (reference-guided) or --latent K (latent-guided)"
        ),
        (f"--run_dir={tiny_networks_dir}", f"--reference={sources}", "--psi=0.7"): (
            "error: --psi applies to --latent only"
        ),
    }
    for argv, expected in cases.items():
        assert run_cli(*argv, *common) == folder_job.EXIT_USAGE, argv
        assert capsys.readouterr().err.splitlines() == [expected]
    assert not (tmp_path / "out").exists()


def test_high_pass_networks_translate_with_the_fans_masks_of_the_sources(tmp_path):
    networks_dir = make_networks_dir(tmp_path / "networks", w_hpf=1)
    translator = translate.StyleTranslator.load(networks_dir)
    sources, references = random_images(2, seed=0), random_images(2, seed=1)

    outputs = translator.with_reference(sources, references, "cartoon")

    assert translator.fan is not None
    sources, references = keras.ops.convert_to_tensor(sources), keras.ops.convert_to_tensor(references)
    styles = translator.style_encoder([references, keras.ops.ones((2,), "int32")], training=False)
    masks = heatmap_masks(translator.fan, sources, S)
    expected = np.clip(translator.generator([sources, styles, masks], training=False), -1, 1)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    (networks_dir / "export" / "fan.keras").unlink()
    with pytest.raises(translate.MissingGeneratorError, match=r"export/fan\.keras: no exported generator"):
        translate.StyleTranslator.load(networks_dir)


def test_the_module_runs_as_a_command(tiny_networks_dir, tmp_path):
    sources = write_images(tmp_path / "sources", ["a.png"], seed=1)

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stargan_v2.translate",
            f"--run_dir={tiny_networks_dir}",
            f"--input={sources}",
            "--latent=1",
            f"--output={tmp_path / 'out'}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == folder_job.EXIT_COMPLETED, result.stderr[-2000:]
    assert "written:        1" in result.stdout
    assert (tmp_path / "out" / "a" / "cartoon_0.png").is_file()  # the default target: the last domain


def test_help_explains_every_flag():
    # What `--help` prints: the help of the flags of the module that defines them (here, not run as __main__).
    help_text = parse("--run_dir=networks").module_help(translate.__name__)

    for flag in (
        "--run_dir",
        "--input",
        "--reference",
        "--latent",
        "--target_domain",
        "--output",
        "--[no]grid",
        "--seed",
        "--psi",
        "--crop",
        "--batch_size",
    ):
        assert f"\n  {flag}:" in help_text, flag
