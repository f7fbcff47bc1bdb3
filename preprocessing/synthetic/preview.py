"""A preview picture comparing the two domains at 64 and 128 px."""

from __future__ import annotations

import cv2
import numpy as np

from preprocessing.synthetic.records import make_record

PREVIEW_ROWS = (("photo", 64), ("photo", 128), ("cartoon", 64), ("cartoon", 128))
PREVIEW_COUNT = 8
PREVIEW_CELL = 128
PREVIEW_LABEL_WIDTH = 120


def preview_image(seed: int = 0, start_index: int = 0) -> np.ndarray:
    """One picture of PREVIEW_COUNT records, one row per (domain, size) of PREVIEW_ROWS.

    64 px images are shown enlarged 2x with nearest-neighbour, so their pixels stay visible.
    """
    rows = []
    for domain, size in PREVIEW_ROWS:
        label = np.full((PREVIEW_CELL, PREVIEW_LABEL_WIDTH, 3), 255, np.uint8)
        for line, text in enumerate((domain, f"{size} px")):
            cv2.putText(label, text, (8, 58 + 24 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (40, 40, 40), 1, cv2.LINE_AA)
        cells = [label]
        for index in range(start_index, start_index + PREVIEW_COUNT):
            image = make_record(domain, seed, index, size)["image"]
            repeat = PREVIEW_CELL // size
            cells.append(np.repeat(np.repeat(image, repeat, axis=0), repeat, axis=1))
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)
