"""stargan_v2.train as a user runs it: its flags, the domains they name, the dry run, and a tiny resumed run."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from absl import flags
from PIL import Image

from stargan_v2 import networks, registration, train, wing
from tests.cyclegan.test_cli import run

TINY = [
    "--image_size=32",
    "--max_conv_dim=16",
    "--first_conv_dim=8",
    "--batch_size=2",
    "--steps_per_epoch=2",
    "--log_every_n_steps=1",
    "--num_grid_samples=2",
    "--diversity_decay_steps=8",
    "--run_eagerly",  # building the graph of four networks takes longer than a few steps
]
TINY_DOMAINS = "--domains=photo=synthetic:photo:8,cartoon=synthetic:cartoon:8"


def parsed(*arguments: str) -> dict:
    """The config `stargan_v2.train` resolves from these flags, parsed in-process."""
    values = flags.FlagValues()
    train.define_flags(values)
    values(["stargan_v2.train", *arguments])
    return train.resolve_config(values)


def test_help_lists_the_domains_the_hyperparameters_and_the_recipe():
    result = run("stargan_v2.train", "--help", check=False)  # absl exits 1 after printing help
    for flag in (
        "--domains",
        "--dataset_dir",
        "--white_background",
        "--augment",
        "--image_size",
        "--max_conv_dim",
        "--w_hpf",
        "--diversity_weight",
        "--mapping_learning_rate",
        "--dry_run",
    ):
        assert flag in result.stdout, flag


def test_the_defaults_are_the_official_recipe_on_the_built_in_photos_and_cartoons():
    config = parsed()
    assert config["domains"] == ["photo", "cartoon"] and config["num_domains"] == 2
    assert config["domain_sources"] == ["synthetic:photo:2048", "synthetic:cartoon:2048"]
    assert config["white_background"] == ["photo"]  # the photos on white, as the cartoons are
    assert config["augment"] == "random_resized_crop,flip"
    assert (config["learning_rate"], config["mapping_learning_rate"]) == (1e-4, 1e-6)
    assert (config["beta_1"], config["beta_2"], config["batch_size"], config["ema_decay"]) == (0.0, 0.99, 8, 0.999)
    assert (config["weight_decay"], config["weight_decay_mode"]) == (1e-4, "coupled")
    assert config["epochs"] * config["steps_per_epoch"] == 100_000
    assert (config["image_size"], config["max_conv_dim"], config["w_hpf"]) == (256, 512, 0)


def test_domains_are_named_in_id_order():
    config = parsed("--domains=face=folder:faces, cartoon=cartoonset:cs10k ,anime=folder:anime")
    assert config["domains"] == ["face", "cartoon", "anime"] and config["num_domains"] == 3
    assert config["domain_sources"] == ["folder:faces", "cartoonset:cs10k", "folder:anime"]
    assert config["white_background"] == []  # the default's "photo" is not among them


def test_a_dataset_dir_gives_one_domain_per_subfolder(tmp_path):
    for index, name in enumerate(("female", "male")):
        (tmp_path / "train" / name).mkdir(parents=True)
        for image in range(3):
            Image.new("RGB", (40, 40), (60 * index + 20 * image, 90, 120)).save(
                tmp_path / "train" / name / f"{image}.png"
            )
    config = parsed(f"--dataset_dir={tmp_path / 'train'}", "--image_size=32", "--batch_size=4")
    assert config["domains"] == ["female", "male"]  # sorted, as the official loaders number them
    assert config["domain_sources"] == [f"folder:{tmp_path / 'train' / name}" for name in ("female", "male")]

    sources, source_domains, references, second_references, target_domains = next(iter(train.build_dataset(config)))
    assert sources.shape == references.shape == second_references.shape == (4, 32, 32, 3)
    assert source_domains.dtype == target_domains.dtype == "int32"
    # Solid images, red 0-40 in female/, 60-100 in male/: an image's red tells its folder, whatever the crop.
    for images, domains in (
        (sources, source_domains),
        (references, target_domains),
        (second_references, target_domains),
    ):
        is_male = images.numpy()[:, 16, 16, 0] > 50 / 127.5 - 1
        np.testing.assert_array_equal(is_male, domains.numpy() == 1)


BAD_FLAGS = [
    (["--domains=photo=synthetic:photo"], "--domains=photo=synthetic:photo: needs at least 2 domains, got 1"),
    (["--domains=photo=synthetic:photo,cartoon"], "--domains=photo=synthetic:photo,cartoon: entry 'cartoon' is"),
    (["--domains=a=synthetic:photo,a=synthetic:cartoon"], "domain 'a' is named twice"),
    (["--dataset_dir={tmp_path}/missing"], "--dataset_dir={tmp_path}/missing: '{tmp_path}/missing' is not a folder"),
    (["--dataset_dir={tmp_path}", "--domains=a=x,b=y"], "--domains and --dataset_dir both name the domains"),
    (["--white_background=face"], "--white_background: no domain named face; the domains are photo, cartoon"),
    (["--num_domains=3"], "--num_domains=3, but there are 2 domains: photo, cartoon"),
    (["--image_size=48"], "must be a power of two"),
    (["--augment=flip,zoom"], "--augment=flip,zoom: unknown zoom; expected names from flip, rotate"),
]


@pytest.mark.parametrize("arguments, message", BAD_FLAGS)
def test_bad_flags_are_refused_in_one_line_naming_them(tmp_path, capsys, arguments, message):
    with pytest.raises((SystemExit, flags.IllegalFlagValueError)) as refusal:
        parsed(*(argument.format(tmp_path=tmp_path) for argument in arguments))
    # absl's parsing errors carry their line; the CLI's own checks print theirs ("error: ...").
    line = str(refusal.value) if refusal.type is flags.IllegalFlagValueError else capsys.readouterr().err
    assert message.format(tmp_path=tmp_path) in line and len(line.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "arguments, message, before_the_run",
    [
        (["--domains=photo=synthetic:photo"], "--domains=photo=synthetic:photo: needs at least 2 domains", True),
        (["--white_background=face"], "--white_background: no domain named face", True),
        # A source that cannot be read is found when the run's data are built.
        (["--domains=a=synthetic:photo:8,b=nowhere:x"], "--domains: domain b (nowhere:x): 'nowhere:x': unknown", False),
    ],
)
def test_the_cli_ends_a_bad_flag_in_one_line_without_a_traceback(tmp_path, arguments, message, before_the_run):
    result = run("stargan_v2.train", *TINY, *arguments, f"--run_dir={tmp_path / 'run'}", check=False)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "run").exists() != before_the_run


def test_the_dry_run_counts_every_network_without_building_one(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the dry run built a network")

    for builder in ("build_generator", "build_mapping_network", "build_style_encoder", "build_discriminator"):
        monkeypatch.setattr(networks, builder, refuse)
    report = train.dry_run_report(parsed())
    for name, count in (
        ("generator", "33,892,995"),
        ("mapping_network", "2,438,272"),
        ("style_encoder", "20,916,928"),
        ("discriminator", "20,852,290"),
    ):
        assert f"{name} {count}" in report
    assert "78,100,485 parameters" in report and "GB" in report
    assert "generator maps of 128 px and more recomputed" in report
    assert "every generator map kept" in train.dry_run_report(parsed("--rematerialize_size=0"))


def test_the_dry_run_exits_before_the_run_starts(tmp_path):
    result = run("stargan_v2.train", "--dry_run", "--w_hpf=1", "--batch_size=1", f"--run_dir={tmp_path / 'run'}")
    assert "generator 43,467,395" in result.stdout and "estimated training memory" in result.stdout
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny run of 2 epochs of 2 steps: the first alone, then resumed to the second."""
    run_dir = tmp_path_factory.mktemp("stargan_v2") / "run"
    run("stargan_v2.train", "--epochs=1", *TINY, TINY_DOMAINS, f"--run_dir={run_dir}")
    run("stargan_v2.train", "--epochs=2", *TINY, TINY_DOMAINS, f"--run_dir={run_dir}")
    return run_dir


def test_a_resumed_run_continues_the_diversity_decay(tiny_run):
    history = json.loads((tiny_run / "history.json").read_text())
    assert history["epoch"] == [1, 2]  # the second invocation resumed after the first epoch
    # λ_ds(t) = 1 - t / 8 over steps 0, 1 then 2, 3: a restarted counter would repeat the first epoch's mean.
    assert history["lambda_ds"] == pytest.approx([1 - 0.5 / 8, 1 - 2.5 / 8])
    for tracker in ("D_latent_real", "D_ref_fake", "G_latent_adv", "G_ref_cyc", "G_latent_ds"):
        assert len(history[tracker]) == 2 and all(np.isfinite(history[tracker]))


def test_a_run_writes_its_grids_config_and_the_three_exports(tiny_run):
    assert sorted(path.name for path in (tiny_run / "grids").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    config = json.loads((tiny_run / "config.json").read_text())
    assert (config["model"], config["domains"], config["num_domains"]) == ("stargan_v2", ["photo", "cartoon"], 2)
    for key in ("image_size", "style_dim", "latent_dim", "w_hpf", "max_conv_dim"):
        assert key in config
    exported = {name: keras.saving.load_model(tiny_run / "export" / f"{name}.keras") for name in train.MODEL.generators}
    styles = np.asarray(exported["mapping_network"]([np.zeros((2, 16), "float32"), np.array([0, 1], "int32")]))
    images = np.asarray(exported["generator"]([np.zeros((2, 32, 32, 3), "float32"), styles]))
    assert images.shape == (2, 32, 32, 3)
    assert exported["style_encoder"]([images, np.array([1, 0], "int32")]).shape == (2, 64)


def test_a_high_pass_run_without_the_pretrained_fan_is_refused(tmp_path):
    result = run("stargan_v2.train", "--w_hpf=1", *TINY, TINY_DOMAINS, f"--run_dir={tmp_path / 'run'}", check=False)
    assert result.returncode != 0
    assert "--w_hpf=1 needs --fan=" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_high_pass_run_uses_the_given_fan_and_exports_a_copy(tmp_path):
    fan = wing.build_fan()
    rng = np.random.default_rng(0)
    fan.set_weights(
        [rng.normal(0, 0.05, weight.shape).astype("float32") + (weight > 0) for weight in fan.get_weights()]
    )
    fan.save(tmp_path / "fan.keras")
    run_dir = tmp_path / "run"
    run(
        "stargan_v2.train",
        "--w_hpf=1",
        f"--fan={tmp_path / 'fan.keras'}",
        "--epochs=1",
        *TINY,
        TINY_DOMAINS,
        f"--run_dir={run_dir}",
    )
    copied = keras.saving.load_model(run_dir / "export" / "fan.keras", compile=False)
    for mine, theirs in zip(copied.get_weights(), fan.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    config = json.loads((run_dir / "config.json").read_text())
    model = registration.build_model(config)
    for mine, theirs in zip(model.fan.get_weights(), fan.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
