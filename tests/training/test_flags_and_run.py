"""Common flags -> config -> setup_run: the run directory and its config.json."""

from __future__ import annotations

import json
import re

import keras
import pytest
from absl import flags as absl_flags

from tests.training.conftest import toy_config
from training import flags, run


def test_config_holds_every_common_flag_with_the_model_defaults_and_its_own_flags():
    values = absl_flags.FlagValues()
    flags.define_common_flags(values, batch_size=16, learning_rate=2e-4, beta_1=0.5, jit_compile=True)
    absl_flags.DEFINE_float("adversarial_weight", 1.0, "ω_gan.", flag_values=values)
    values(["train", "--epochs=7", "--lr_schedule=linear_decay", "--adversarial_weight=2"])

    config = flags.config_from_flags("xgan", ["adversarial_weight"], flag_values=values)

    assert set(config) == {"model", "adversarial_weight", *flags.COMMON_FLAG_NAMES}
    assert config["model"] == "xgan"
    model_defaults = (config["batch_size"], config["learning_rate"], config["beta_1"], config["jit_compile"])
    assert model_defaults == (16, 2e-4, 0.5, True)
    assert (config["epochs"], config["lr_schedule"], config["adversarial_weight"]) == (7, "linear_decay", 2.0)
    assert config["decay_start_epoch"] == 3  # default: half of --epochs
    assert all(values[name].help for name in flags.COMMON_FLAG_NAMES)


def test_a_default_for_an_unknown_flag_is_rejected():
    with pytest.raises(TypeError, match="no common flag named batchsize"):
        flags.define_common_flags(absl_flags.FlagValues(), batchsize=16)


def test_setup_run_writes_the_resolved_config_and_applies_the_policy(tmp_path):
    config = toy_config(tmp_path / "run", mixed_precision="mixed_bfloat16", seed=7)

    current = run.setup_run("toy_gan", config)

    written = json.loads((tmp_path / "run" / "config.json").read_text())
    assert current.run_dir == (tmp_path / "run").resolve()
    assert written == current.config
    assert written["run_dir"] == str(current.run_dir)
    assert (written["strategy"], written["num_replicas"], written["seed"]) == ("default", 1, 7)
    assert written["versions"]["keras"] == keras.__version__
    assert keras.config.dtype_policy().name == "mixed_bfloat16"


def test_rerunning_with_the_same_run_dir_reuses_it(tmp_path):
    first = run.setup_run("toy_gan", toy_config(tmp_path / "run"))
    (first.run_dir / "backup").mkdir()

    second = run.setup_run("toy_gan", toy_config(tmp_path / "run", epochs=5))

    assert second.run_dir == first.run_dir
    assert (second.run_dir / "backup").is_dir()
    assert json.loads((second.run_dir / "config.json").read_text())["epochs"] == 5


def test_the_default_run_dir_is_runs_model_timestamp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    current = run.setup_run("toy_gan", toy_config(""))

    relative = current.run_dir.relative_to(tmp_path.resolve()).as_posix()
    assert re.fullmatch(r"runs/toy_gan/\d{8}-\d{6}", relative)


def test_the_tpu_strategy_without_a_tpu_says_so(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(RuntimeError, match="--strategy=tpu found no TPU"):
        run.make_strategy("tpu")


def test_setup_run_prints_the_devices_strategy_and_policy_in_one_line(tmp_path, capsys):
    run.setup_run("toy_gan", toy_config(tmp_path / "run", mixed_precision="mixed_bfloat16"))

    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Training on:")]
    assert lines == [
        "Training on: 1 x CPU (/physical_device:CPU:0), strategy default, 1 replica, policy mixed_bfloat16"
    ]


def test_the_run_layout_names_every_file_of_a_run_directory(tmp_path):
    layout = run.RunLayout.open(str(tmp_path))

    paths = [
        layout.config_path,
        layout.history_path,
        layout.loss_plot_path,
        layout.grid_path(3),
        layout.grids_animation_path,
        layout.tensorboard_dir,
        layout.backup_dir,
        layout.export_path("face2cartoon"),
        layout.semantics_dir,
    ]
    assert [path.relative_to(tmp_path).as_posix() for path in paths] == [
        "config.json",
        "history.json",
        "losses.png",
        "grids/epoch_0003.png",
        "grids.gif",
        "tensorboard",
        "backup",
        "export/face2cartoon.keras",
        "semantics",
    ]
    assert layout.read_config() == {}
    layout.config_path.write_text(json.dumps({"face_background": "white"}))
    assert layout.read_config() == {"face_background": "white"}


def parsed_common_flags(*arguments) -> absl_flags.FlagValues:
    values = absl_flags.FlagValues()
    flags.define_common_flags(values, learning_rate=2e-4)
    values(["train", *arguments])
    return values


def test_the_players_learning_rates_default_to_learning_rate_and_override_it():
    default = flags.config_from_flags("toy_gan", flag_values=parsed_common_flags("--learning_rate=3e-4"))
    given = flags.config_from_flags("toy_gan", flag_values=parsed_common_flags("--d_learning_rate=4e-4"))

    assert (default["g_learning_rate"], default["d_learning_rate"]) == (3e-4, 3e-4)
    assert (given["learning_rate"], given["g_learning_rate"], given["d_learning_rate"]) == (2e-4, 2e-4, 4e-4)


def test_a_recipe_moves_the_defaults_derived_from_its_values_but_not_given_flags():
    values = parsed_common_flags("--g_learning_rate=5e-4")
    config = flags.config_from_flags("toy_gan", flag_values=values)

    recipe = flags.apply_recipe(config, {"learning_rate": 1e-3, "epochs": 10}, values)

    assert (recipe["learning_rate"], recipe["g_learning_rate"], recipe["d_learning_rate"]) == (1e-3, 5e-4, 1e-3)
    assert recipe["decay_start_epoch"] == 5


@pytest.mark.parametrize(
    "argument, message",
    [
        ("--learning_rate=-1", "flag --learning_rate=-1.0: must be > 0"),
        ("--learning_rate=0", "flag --learning_rate=0.0: must be > 0"),
        ("--g_learning_rate=-2e-4", "flag --g_learning_rate=-0.0002: must be > 0"),
        ("--d_learning_rate=0", "flag --d_learning_rate=0.0: must be > 0"),
        ("--beta_1=1", "flag --beta_1=1.0: must be in [0, 1)"),
        ("--beta_2=-0.1", "flag --beta_2=-0.1: must be in [0, 1)"),
        ("--momentum=1.5", "flag --momentum=1.5: must be in [0, 1)"),
        ("--cyclic_period_epochs=0", "flag --cyclic_period_epochs=0.0: must be > 0"),
        ("--weight_decay=-1e-4", "flag --weight_decay=-1e-4: -0.0001 is not a non-negative number"),
        ("--seed=-1", "flag --seed=-1: "),
        ("--batch_size=0", "flag --batch_size=0: "),
        (
            "--decay_start_epoch=3 --epochs=3",
            "flags decay_start_epoch=3, epochs=3: --decay_start_epoch must be < --epochs",
        ),
        (
            "--min_learning_rate=1e-3 --g_learning_rate=1e-4",
            "flags min_learning_rate=0.001, learning_rate=0.0002, g_learning_rate=0.0001, d_learning_rate=None: "
            "--min_learning_rate must be <=",
        ),
    ],
)
def test_a_value_out_of_its_flags_range_is_refused_naming_the_flag(argument, message):
    with pytest.raises(absl_flags.IllegalFlagValueError) as error:
        parsed_common_flags(*argument.split())
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_the_edges_of_the_ranges_are_accepted():
    values = parsed_common_flags("--beta_1=0", "--beta_2=0.9999", "--momentum=0", "--learning_rate=1e-9", "--seed=0")
    assert (values.beta_1, values.momentum, values.learning_rate) == (0.0, 0.0, 1e-9)


def test_config_json_records_each_players_resolved_learning_rate(tmp_path):
    current = run.setup_run("toy_gan", toy_config(tmp_path / "run", learning_rate=1e-3, g_learning_rate=3e-3))

    written = json.loads((tmp_path / "run" / "config.json").read_text())
    assert current.config["g_learning_rate"] == 3e-3
    assert (written["g_learning_rate"], written["d_learning_rate"]) == (3e-3, 1e-3)
