"""The U-GAT-IT Colab notebook runs top to bottom with tiny settings."""

import json

from tests.notebooks.test_xgan_colab import run_notebook


def cell_text(notebook, marker: str) -> str:
    """The stream output of the one code cell whose source contains `marker`."""
    [cell] = [cell for cell in notebook.cells if cell.cell_type == "code" and marker in cell.source]
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


def test_ugatit_colab_notebook_estimates_trains_with_and_without_keypoints_translates_and_scores(tmp_path):
    run_dir, keypoint_run_dir, work_dir = tmp_path / "run", tmp_path / "keypoint_run", tmp_path / "work"
    notebook = run_notebook(
        "ugatit_colab.ipynb",
        f"""
IMAGE_SIZE = 96
LIGHT = True
FILTERS = 8
EPOCHS = 1
STEPS_PER_EPOCH = 2
FACE_SOURCE = "synthetic:photo:16"
CARTOON_SOURCE = "synthetic:cartoon:16"
MIXED_PRECISION = "off"
KEYPOINT_LOSS = "m2"
KEYPOINT_BLOCK_STEPS = 1
KEYPOINT_PRETRAIN_EPOCHS = "1,1"
EXTRA_FLAGS = ["--num_grid_samples=2", "--run_eagerly"]
SEMANTICS_FLAGS = [
    "--num_images=8",
    "--num_train_images=32",
    "--num_oracle_images=8",
    "--epochs=1",
    "--num_examples=4",
    "--batch_size=8",
]
RUN_DIR = "{run_dir}"
KEYPOINT_RUN_DIR = "{keypoint_run_dir}"
WORK_DIR = "{work_dir}"
SHOW_TENSORBOARD = False
""",
        tmp_path,
    )
    # The dry runs: full vs light at 256 px, float32 vs mixed_float16, as the markdown quotes them.
    dry_runs = cell_text(notebook, "--dry_run").splitlines()
    assert [line.split(":")[0] for line in dry_runs] == [
        "U-GAT-IT full, 256 px, filters 64, batch 1, policy off",
        "U-GAT-IT full, 256 px, filters 64, batch 1, policy mixed_float16",
        "U-GAT-IT light, 256 px, filters 64, batch 1, policy off",
        "U-GAT-IT light, 256 px, filters 64, batch 1, policy mixed_float16",
    ]
    assert "670,761,088 parameters; estimated training memory 10.5 GB" in dry_runs[0]
    assert "670,761,088 parameters; estimated training memory 9.5 GB" in dry_runs[1]

    for directory in (run_dir, keypoint_run_dir):
        assert (directory / "export" / "face2cartoon.keras").is_file()
        assert (directory / "grids" / "epoch_0001.png").is_file() and (directory / "losses.png").is_file()
    config = json.loads((keypoint_run_dir / "config.json").read_text())
    assert (config["keypoint_loss"], config["light"], config["face_augment"]) == ("m2", True, "")
    # Staged pre-training: one stage before each block of one generator step.
    stages = [line for line in cell_text(notebook, "--keypoint_loss=").splitlines() if "pre-training" in line]
    assert [line.split(":")[0] for line in stages] == [
        "Keypoint predictor pre-training before generator step 1",
        "Keypoint predictor pre-training before generator step 2",
    ]

    assert len(list((work_dir / "cartoons").glob("*.png"))) == 4 + 1  # translations + grid.png
    semantics = json.loads((run_dir / "semantics" / "face2cartoon" / "semantics.json").read_text())
    assert semantics  # written; its figures at 2 steps mean nothing
    assert "mean" in cell_text(notebook, "evaluation.semantics")
