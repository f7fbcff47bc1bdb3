"""Translate images A -> B (or B -> A) with a trained CycleGAN run: `training.translate_cli` for CycleGAN.

usage: python -m cyclegan.translate --run_dir RUN --direction a2b --input FILE_OR_DIR --output DIR
           [--grid] [--composite [--mask_dir MASKS]]
"""

from training import translate_cli

main = translate_cli.main_for("cyclegan")

if __name__ == "__main__":
    main()
