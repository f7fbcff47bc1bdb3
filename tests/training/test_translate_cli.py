"""training.translate_cli: one translate CLI for every registered model, its flags from the registration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from absl import flags
from PIL import Image

from preprocessing import folder_job
from preprocessing.pipeline import prepare_image
from tests.training import toy_gan
from training import export, registry, translate_cli
from training.run import RunLayout
from training.translate import to_uint8

SIZE = toy_gan.REGISTERED_SIZE
# Two directions, so the default and the choices show: the toy's generator, and the same one under a second name.
SPEC = dataclasses.replace(
    toy_gan.MODEL,
    generators=("source2target", "target2source"),
    directions=("source2target", "target2source"),
    direction_descriptions=("sources to targets", "targets to sources"),
)


def parse(*argv: str, spec: registry.ModelSpec = SPEC) -> flags.FlagValues:
    """The CLI's flags for `spec`, parsed from `argv`."""
    flag_values = flags.FlagValues()
    translate_cli.define_flags(spec, flag_values)
    flag_values(["toy_gan.translate", *argv])
    return flag_values


def test_the_directions_and_their_help_are_the_registrations():
    flag_values = parse("--run_dir=run")

    direction = flag_values["direction"]
    assert flag_values.direction == "source2target"  # the first
    assert direction.parser.enum_values == ["source2target", "target2source"]
    assert direction.help.endswith(
        ": Which generator to apply: source2target (sources to targets); target2source (targets to sources)."
    )
    with pytest.raises(flags.IllegalFlagValueError):
        parse("--run_dir=run", "--direction=a2b")
    undescribed = dataclasses.replace(toy_gan.MODEL, direction_descriptions=())
    assert parse("--run_dir=run", spec=undescribed)["direction"].help.endswith(
        ": Which generator to apply: source2target."
    )


def test_a_registration_describes_every_direction_or_none():
    with pytest.raises(ValueError, match="one direction_descriptions entry per direction"):
        dataclasses.replace(SPEC, direction_descriptions=("sources to targets",))


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory):
    """A run directory holding the toy's generator exported as both directions, and 2 input images of 20 px."""
    root = tmp_path_factory.mktemp("translate_cli")
    model = toy_gan.ToyGAN(SIZE)
    layout = RunLayout.open(root / "run")
    for direction in SPEC.directions:
        layout.export_dir.mkdir(parents=True, exist_ok=True)
        model.generator.save(layout.export_path(direction))
    inputs = root / "inputs"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(inputs / f"{name}.png")
    return layout.run_dir, inputs, model.generator


def test_it_writes_the_generators_translation_of_each_input(exported_run, tmp_path):
    run_dir, inputs, generator = exported_run

    code = translate_cli.translate_from_flags(
        parse(f"--run_dir={run_dir}", f"--input={inputs}", f"--output={tmp_path / 'out'}", "--grid")
    )

    assert code == folder_job.EXIT_COMPLETED
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "grid.png"]
    source = prepare_image(np.asarray(Image.open(inputs / "a.png")), SIZE)
    expected = to_uint8(generator(source[None], training=False)[0])
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), expected)


def test_any_model_composites_onto_the_input_outside_the_masks(exported_run, tmp_path):
    run_dir, inputs, _ = exported_run
    masks = tmp_path / "masks"
    masks.mkdir()
    mask = np.zeros((20, 20, 3), np.uint8)
    mask[5:15, 5:15] = 255
    for name in ("a", "b"):
        Image.fromarray(mask).save(masks / f"{name}.png")
    common = (f"--run_dir={run_dir}", f"--input={inputs}")

    for out, extra in (("plain", ()), ("composited", ("--composite", f"--mask_dir={masks}"))):
        code = translate_cli.translate_from_flags(parse(*common, f"--output={tmp_path / out}", *extra))
        assert code == folder_job.EXIT_COMPLETED

    alpha = (prepare_image(mask, SIZE).numpy()[..., 0] + 1) / 2
    for name in ("a.png", "b.png"):
        source = to_uint8(prepare_image(np.asarray(Image.open(inputs / name)), SIZE))
        output = np.asarray(Image.open(tmp_path / "composited" / name))
        translated = np.asarray(Image.open(tmp_path / "plain" / name))
        np.testing.assert_array_equal(output[alpha == 0], source[alpha == 0])
        np.testing.assert_array_equal(output[alpha == 1], translated[alpha == 1])


def test_a_mask_folder_without_composite_is_a_one_line_error(exported_run, tmp_path, capsys):
    run_dir, inputs, _ = exported_run

    code = translate_cli.translate_from_flags(
        parse(f"--run_dir={run_dir}", f"--input={inputs}", f"--output={tmp_path / 'out'}", f"--mask_dir={tmp_path}")
    )

    assert code == folder_job.EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == ["error: --mask_dir needs --composite"]
    assert not (tmp_path / "out").exists()


def test_a_direction_that_was_not_exported_names_its_file(tmp_path, capsys):
    code = translate_cli.translate_from_flags(
        parse(
            f"--run_dir={tmp_path}", f"--input={tmp_path}", f"--output={tmp_path / 'out'}", "--direction=target2source"
        )
    )

    assert code == folder_job.EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [
        f"error: {tmp_path}/export/target2source.keras: no exported generator ({export.HARNESS_HINT})"
    ]
