"""The model registry: installed packages are found by their entry points, a new model needs one registration."""

import configparser
import dataclasses
import json
import re
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from absl import flags

from benchmarks import train_step
from evaluation import semantics
from tests.training import toy_gan
from training import registry

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_PACKAGES = ("benchmarks", "evaluation", "preprocessing", "training")


def declared_entry_points() -> dict:
    """{name: "module:attribute"} of setup.cfg's model group: what a fresh `pip install -e .` registers."""
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "setup.cfg")
    lines = config["options.entry_points"][registry.ENTRY_POINT_GROUP].strip().splitlines()
    return dict(tuple(part.strip() for part in line.split("=")) for line in lines)


@pytest.fixture
def clean_registry(monkeypatch):
    """A registry that has discovered nothing yet; the real one is restored after the test."""
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setattr(registry, "_discovered", False)


def test_the_installed_entry_points_are_those_setup_cfg_declares():
    installed = {entry.name: entry.value for entry in metadata.entry_points(group=registry.ENTRY_POINT_GROUP)}
    # A mismatch means the installed metadata is stale: reinstall with `pip install -e .`.
    assert installed == declared_entry_points()
    assert {"xgan", "single_gan"} <= set(installed)


@pytest.mark.parametrize("name", sorted(declared_entry_points()))
def test_each_registration_describes_its_model(name):
    spec = registry.get(name)
    assert spec.name == name
    exported = spec.untrained().exportable_models()
    assert tuple(exported) == spec.generators
    for direction in spec.directions:  # a translator maps images to images of the same size
        assert exported[direction].input_shape == exported[direction].output_shape


def test_the_registrations_name_the_report_batches():
    assert registry.get("xgan").benchmark.input_shapes == ((16, 64, 64, 3), (16, 64, 64, 3))
    assert registry.get("single_gan").benchmark.input_shapes == ((128, 64, 64, 3),)
    # The DCGAN draws from noise; StarGAN v2's generator needs a style code beside the image.
    assert registry.translators() == tuple(
        name for name in registry.names() if name not in ("single_gan", "stargan_v2")
    )


def test_a_benchmark_batch_is_an_array_or_a_tuple_per_input_and_fixed_by_its_seed():
    setting = registry.Benchmark(input_shapes=((3, 4, 4, 3), (3, 4, 4, 3)))
    first, second = setting.batch(seed=1)
    assert first.shape == second.shape == (3, 4, 4, 3) and not np.array_equal(first, second)
    np.testing.assert_array_equal(setting.batch(seed=1)[0], first)
    assert registry.Benchmark(input_shapes=((5, 2),)).batch().shape == (5, 2)


def test_a_benchmark_batch_gives_labels_to_its_int32_inputs():
    setting = registry.Benchmark(input_shapes=((64, 4, 4, 3), (64,)), input_dtypes=("float32", "int32"), label_count=3)
    images, labels = setting.batch()
    assert images.dtype == np.float32 and -1 <= images.min() < images.max() <= 1
    assert labels.dtype == np.int32 and set(labels) == {0, 1, 2}
    with pytest.raises(ValueError, match="one input_dtypes entry per input shape"):
        registry.Benchmark(input_shapes=((2, 4, 4, 3), (2,)), input_dtypes=("int32",))


def test_registering_is_once_per_name(registered_toy):
    assert registry.register(registered_toy) is registered_toy  # the same spec again: nothing changes
    other = dataclasses.replace(registered_toy)
    with pytest.raises(ValueError, match="model toy_gan: already registered by another spec"):
        registry.register(other)
    with pytest.raises(TypeError, match="expects a ModelSpec"):
        registry.register("toy_gan")


def test_an_unknown_model_is_a_one_line_error_naming_the_registered_ones():
    with pytest.raises(registry.UnknownModelError) as error:
        registry.get("pix2pix")
    assert str(error.value) == f"unknown model 'pix2pix'; registered: {', '.join(registry.names())}"


def test_a_checkout_that_was_never_installed_is_told_to_install(clean_registry, monkeypatch):
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group: [])
    with pytest.raises(registry.NotInstalledError, match=r"install the project \(pip install -e \.\)"):
        registry.get("xgan")


def test_a_registration_that_fails_to_import_raises_its_error(clean_registry, monkeypatch):
    broken = metadata.EntryPoint("cyclegan", "cyclegan_missing.registration:MODEL", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group: [broken])
    with pytest.raises(ModuleNotFoundError, match="No module named 'cyclegan_missing'"):
        registry.names()
    assert not registry._discovered  # the next lookup tries again, and fails again while the package is broken


def test_an_entry_point_must_name_a_spec_of_its_own_name(clean_registry, monkeypatch):
    misnamed = metadata.EntryPoint("pix2pix", "tests.training.toy_gan:MODEL", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group: [misnamed])
    with pytest.raises(TypeError, match="entry point pix2pix = tests.training.toy_gan:MODEL: not a ModelSpec named"):
        registry.names()


def test_directions_must_be_generators():
    with pytest.raises(ValueError, match=r"model toy: directions \['a2b'\] are not among its generators"):
        registry.ModelSpec("toy", toy_gan.ToyGAN, toy_gan.ToyGAN, ("generator",), ("a2b",), toy_gan.MODEL.benchmark)


def test_no_shared_module_imports_a_model_package_by_name():
    packages = "|".join(sorted({*declared_entry_points(), "cyclegan", "ugatit"}))
    pattern = re.compile(rf"^\s*(from|import)\s+({packages})\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for package in SHARED_PACKAGES
        for path in (REPO_ROOT / package).rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []


def test_the_registered_toy_runs_through_evaluation_semantics_untrained(registered_toy, tmp_path):
    flag_values = flags.FlagValues()
    semantics.define_flags(flag_values)  # after the registration: --untrained offers the toy
    flag_values(
        [
            "semantics",
            "--untrained=toy_gan",
            "--direction=source2target",
            "--source_domain=photo",
            "--target_domain=cartoon",
            f"--out={tmp_path}",
            "--num_images=16",
            "--num_train_images=32",
            "--epochs=1",
            "--num_oracle_images=16",
            "--batch_size=16",
            "--attributes=skin_tone",
            "--num_examples=2",
        ]
    )
    results = semantics.run(flag_values, progress=False)
    assert results["translator"] == "untrained toy_gan source2target (random weights, seed 0)"
    assert results["num_images"] == 16 and results["classifier"]["image_size"] == toy_gan.REGISTERED_SIZE
    assert json.loads((tmp_path / "semantics.json").read_text()) == results
    assert (tmp_path / "examples.png").stat().st_size > 0


def test_the_registered_toy_runs_through_benchmarks_train_step(registered_toy, capsys, monkeypatch):
    monkeypatch.setattr(train_step, "MATMUL_SIZE", 256)  # the machine's peak is not what this test checks
    train_step.main(["--model", "toy_gan", "--steps", "2"])
    figures = json.loads(capsys.readouterr().out)
    assert figures["model"] == "toy_gan" and figures["batch_size"] == 2
    assert figures["images_per_s_no_xla"] > 0 and figures["images_per_s_xla"] > 0 and figures["matmul_gflops"] > 0
