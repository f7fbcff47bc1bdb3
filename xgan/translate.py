"""Translate faces to cartoons (or back) with a trained XGAN run: `training.translate_cli` for XGAN.

usage: python -m xgan.translate --run_dir RUN --direction face2cartoon --input FILE_OR_DIR --output DIR [--grid]
"""

from training import translate_cli

main = translate_cli.main_for("xgan")

if __name__ == "__main__":
    main()
