"""The Colab notebook runs top to bottom with tiny settings."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_notebook(name: str, parameters: str, tmp_path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(REPO_ROOT / "notebooks" / name, as_version=4)
    [parameters_cell] = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    parameters_cell.source = parameters
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO_ROOT)}}
    ).execute()
    return notebook


def test_xgan_colab_notebook_trains_and_translates(tmp_path):
    run_dir, work_dir = tmp_path / "run", tmp_path / "work"
    run_notebook(
        "xgan_colab.ipynb",
        f"""
EPOCHS = 1
STEPS_PER_EPOCH = 2
FACE_SOURCE = "synthetic:photo"
CARTOON_SOURCE = "synthetic:cartoon"
MIXED_PRECISION = "off"
RUN_DIR = "{run_dir}"
WORK_DIR = "{work_dir}"
SHOW_TENSORBOARD = False
""",
        tmp_path,
    )
    assert (run_dir / "export" / "face2cartoon.keras").is_file()
    assert (run_dir / "grids" / "epoch_0001.png").is_file()
    assert len(list((work_dir / "cartoons").glob("*.png"))) == 8 + 1  # translations + grid.png
