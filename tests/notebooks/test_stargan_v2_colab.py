"""The StarGAN v2 Colab notebook runs top to bottom with tiny settings."""

import json

import numpy as np
from PIL import Image

from tests.notebooks.test_ugatit_colab import cell_text
from tests.notebooks.test_xgan_colab import run_notebook

SIZE = 32
NUM_IMAGES = 2
LATENT_STYLES = 3


def test_stargan_v2_colab_notebook_estimates_trains_and_translates_with_references_and_latents(tmp_path):
    run_dir, work_dir = tmp_path / "run", tmp_path / "work"
    notebook = run_notebook(
        "stargan_v2_colab.ipynb",
        f"""
IMAGE_SIZE = {SIZE}
MAX_CONV_DIM = 16
BATCH_SIZE = 2
EPOCHS = 1
STEPS_PER_EPOCH = 2
DOMAINS = "photo=synthetic:photo:8,cartoon=synthetic:cartoon:8"
MIXED_PRECISION = "off"
EXTRA_FLAGS = ["--num_grid_samples=2", "--log_every_n_steps=1", "--run_eagerly"]
NUM_IMAGES = {NUM_IMAGES}
LATENT_STYLES = {LATENT_STYLES}
RUN_DIR = "{run_dir}"
WORK_DIR = "{work_dir}"
SHOW_TENSORBOARD = False
""",
        tmp_path,
    )
    # The dry runs: the official AFHQ and CelebA-HQ generators, then the notebook's settings.
    dry_runs = cell_text(notebook, "--dry_run").splitlines()
    assert len(dry_runs) == 3
    assert "w_hpf 0" in dry_runs[0] and "generator 33,892,995" in dry_runs[0]
    assert "w_hpf 1" in dry_runs[1] and "generator 43,467,395" in dry_runs[1]
    assert dry_runs[2].startswith(f"StarGAN v2, {SIZE} px, max_conv_dim 16")

    for name in ("generator", "mapping_network", "style_encoder"):
        assert (run_dir / "export" / f"{name}.keras").is_file()
    assert (run_dir / "grids" / "epoch_0001.png").is_file() and (run_dir / "losses.png").is_file()
    assert json.loads((run_dir / "config.json").read_text())["domains"] == ["photo", "cartoon"]

    reference_guided, latent_guided = work_dir / "reference_guided", work_dir / "latent_guided"
    pairs = [path for path in reference_guided.rglob("*.png") if path.parent != reference_guided]
    assert len(pairs) == NUM_IMAGES * NUM_IMAGES
    grid = np.asarray(Image.open(reference_guided / "reference_grid.png"))
    assert grid.shape == ((1 + NUM_IMAGES) * SIZE, (1 + NUM_IMAGES) * SIZE, 3)
    assert (grid[:SIZE, :SIZE] == 255).all()
    styled = [path for path in latent_guided.rglob("*.png") if path.parent != latent_guided]
    assert len(styled) == NUM_IMAGES * LATENT_STYLES
    grid = np.asarray(Image.open(latent_guided / "latent_grid.png"))
    assert grid.shape == (NUM_IMAGES * SIZE, (1 + LATENT_STYLES) * SIZE, 3)
