"""Translate faces to cartoons (or back) with a trained U-GAT-IT run: `training.translate_cli` for U-GAT-IT.

usage: python -m ugatit.translate --run_dir RUN --direction face2cartoon --input FILE_OR_DIR --output DIR [--grid]
"""

from training import translate_cli

main = translate_cli.main_for("ugatit")

if __name__ == "__main__":
    main()
