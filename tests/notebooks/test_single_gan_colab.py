"""The DCGAN Colab notebook runs top to bottom with tiny settings."""

from tests.notebooks.test_xgan_colab import run_notebook


def test_single_gan_colab_notebook_trains_and_samples(tmp_path):
    run_dir, samples_dir = tmp_path / "run", tmp_path / "samples"
    run_notebook(
        "single_gan_colab.ipynb",
        f"""
EPOCHS = 2
STEPS_PER_EPOCH = 1
BATCH_SIZE = 4
RECIPE = "exp3"
SOURCE = "synthetic:cartoon:8"
MIXED_PRECISION = "off"
EXTRA_FLAGS = ["--generator_filters=8,4", "--discriminator_filters=4", "--num_grid_samples=4"]
RUN_DIR = "{run_dir}"
SAMPLES_DIR = "{samples_dir}"
SHOW_TENSORBOARD = False
""",
        tmp_path,
    )
    assert (run_dir / "export" / "generator.keras").is_file()
    assert sorted(path.name for path in (run_dir / "grids").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    assert (run_dir / "grids.gif").is_file()
    assert sorted(path.name for path in samples_dir.glob("*.png")) == ["samples.png", "walk.png"]
