"""The CycleGAN Colab notebook runs top to bottom with tiny settings."""

from tests.notebooks.test_xgan_colab import run_notebook


def test_cyclegan_colab_notebook_trains_and_translates_with_and_without_compositing(tmp_path, face_models):
    run_dir, work_dir = tmp_path / "run", tmp_path / "work"
    run_notebook(
        "cyclegan_colab.ipynb",
        f"""
IMAGE_SIZE = 32
RESIDUAL_BLOCKS = 1
EPOCHS = 1
STEPS_PER_EPOCH = 2
A_SOURCE = "synthetic:photo:8"
B_SOURCE = "synthetic:cartoon:8"
RECIPE = "standard"
RUN_DIR = "{run_dir}"
WORK_DIR = "{work_dir}"
SHOW_TENSORBOARD = False
""",
        tmp_path,
    )
    assert (run_dir / "export" / "a2b.keras").is_file() and (run_dir / "grids" / "epoch_0001.png").is_file()
    for name in ("cartoons", "composited"):
        assert len(list((work_dir / name).glob("*.png"))) == 8 + 1  # translations + grid.png
