"""The quality ladder's contact sheet: the same held-out photos in the first row, then a row per model and rung of
their translations to cartoons by the rung's exported generator (StarGAN v2's in the style of one fixed latent code).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from PIL import Image, ImageDraw

from evaluation import attributes
from evaluation.attributes import HELD_OUT_SEED
from experiments.ladder_rungs import ModelLadder
from training.export import load_generator
from training.images import grid_image, to_unit_range
from training.run import RunLayout

CONTACT_LATENT_SEED = 0  # StarGAN v2's row: the first style evaluation.semantics gives its first sources
SHEET_GAP = 2
LABEL_WIDTH = 120


def cartoon_translator(ladder: ModelLadder, rung: int) -> tuple[int, Callable[[np.ndarray], np.ndarray]]:
    """(input size, photos -> cartoons) of a rung, both in [-1, 1]: the model's exported photo-to-cartoon
    generator, or a guided model's translator in the style of one fixed latent code."""
    direction = ladder.photo2cartoon
    if ladder.guided:
        translator = ladder.spec.guided_translator(ladder.rung_dir(rung))

        def in_fixed_style(photos):
            return translator.with_latent(photos, direction.target_name, 1, CONTACT_LATENT_SEED)[:, 0]

        return translator.image_size, in_fixed_style
    generator = load_generator(RunLayout.open(ladder.rung_dir(rung)).export_path(direction.name))
    return generator.input_shape[1], lambda photos: keras.ops.convert_to_numpy(generator(photos, training=False))


def held_out_photos(count: int, size: int, look: attributes.PhotoLook) -> np.ndarray:
    """Records 0..count-1 of HELD_OUT_SEED's photos, [count, size, size, 3] in [-1, 1], prepared as `look`: the
    first sources every model is scored on."""
    return next(iter(attributes.records("photo", count, size, count, HELD_OUT_SEED, look)))["image"].numpy()


def resized(images: np.ndarray, size: int) -> np.ndarray:
    return keras.ops.convert_to_numpy(keras.ops.image.resize(images, (size, size), interpolation="bilinear"))


def contact_rows(ladders: list[ModelLadder], rungs: list[int], count: int) -> list[tuple[str, np.ndarray]]:
    """[(label, images [count, S, S, 3] in [0, 1])]: the held-out photos as the first model saw them, then each
    trained (model, rung)'s translations of them, all at the largest model's size S."""
    translations = []
    for ladder in ladders:
        for rung in (rung for rung in rungs if ladder.rung_trained(rung)):
            size, translate = cartoon_translator(ladder, rung)
            photos = held_out_photos(count, size, ladder.photo_look)
            translations.append((f"{ladder.name} {rung}x", translate(photos)))
    if not translations:
        return []
    cell = max(images.shape[1] for _, images in translations)
    photos = held_out_photos(count, cell, ladders[0].photo_look)
    return [(label, to_unit_range(resized(images, cell))) for label, images in [("photos", photos), *translations]]


def contact_sheet(rows: list[tuple[str, np.ndarray]]) -> Image.Image:
    """The rows top to bottom, SHEET_GAP white pixels apart, each labelled in a LABEL_WIDTH strip on the left."""
    grid = grid_image(rows, gap=SHEET_GAP)
    sheet = Image.new("RGB", (LABEL_WIDTH + grid.shape[1], grid.shape[0]), "white")
    sheet.paste(Image.fromarray(np.round(grid * 255).astype(np.uint8)), (LABEL_WIDTH, 0))
    draw = ImageDraw.Draw(sheet)
    height = rows[0][1].shape[1]
    for index, (label, _) in enumerate(rows):
        draw.text((4, index * (height + SHEET_GAP) + height // 2), label, fill="black", anchor="lm")
    return sheet
