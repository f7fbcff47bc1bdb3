"""`experiments.ladder_contact_sheet`: the sheet's labelled rows, and the rows each model's own translator draws."""

import keras
import numpy as np

from evaluation.attributes import PhotoLook
from experiments import ladder_contact_sheet
from experiments.ladder_rungs import ModelLadder
from training import registry


def test_the_contact_sheet_has_a_labelled_row_per_model_and_rung_below_the_photos():
    size, columns = 16, 3
    rows = [(label, np.full((columns, size, size, 3), shade, np.float32)) for label, shade in [("photos", 0.2)]]
    rows += [
        (f"model{m} {rung}x", np.full((columns, size, size, 3), 0.5, np.float32)) for m in (1, 2) for rung in (1, 3)
    ]
    sheet = np.asarray(ladder_contact_sheet.contact_sheet(rows))

    gap, label = ladder_contact_sheet.SHEET_GAP, ladder_contact_sheet.LABEL_WIDTH
    assert sheet.shape == ((1 + 2 * 2) * (size + gap) - gap, label + columns * (size + gap) - gap, 3)
    assert (sheet[:size, label : label + size] == 51).all()  # 0.2 of 255: the photos' cell
    assert (sheet[size : size + gap, label:] == 255).all()  # a white gap between rows
    for row in range(5):
        strip = sheet[row * (size + gap) : row * (size + gap) + size, :label]
        assert (strip < 128).any()  # its label's text


class FixedStyleTranslator:
    """A guided translator's interface: `with_latent` gives each photo negated, in every style."""

    image_size = 24

    def __init__(self):
        self.calls = []

    def with_latent(self, sources, target_domain, styles_per_source, seed):
        self.calls.append((target_domain, styles_per_source, seed))
        return np.repeat(-sources[:, None], styles_per_source, axis=1)


def kept_rung(ladder: ModelLadder, rung: int, generators: dict) -> None:
    export = ladder.rung_dir(rung) / "export"
    export.mkdir(parents=True)
    (ladder.rung_dir(rung) / "config.json").write_text("{}")
    for name in ladder.spec.generators:
        if name in generators:
            generators[name].save(export / f"{name}.keras")
        else:
            (export / f"{name}.keras").write_text("")  # a guided model's: its translator stands in


def test_the_contact_sheet_rows_translate_with_each_models_own_translator(tmp_path):
    benchmark = registry.Benchmark(input_shapes=((1, 16, 16, 3),))
    plain = registry.ModelSpec("plain", None, None, ("face2cartoon",), ("face2cartoon",), benchmark)
    translator = FixedStyleTranslator()
    guided = registry.ModelSpec(
        "guided", None, None, ("generator",), (), benchmark, guided_translator=lambda path: translator
    )
    config = {"epochs": 1, "face_background": "white", "domains": ["photo", "cartoon"], "white_background": ["photo"]}
    ladders = [ModelLadder(plain, (), config, tmp_path), ModelLadder(guided, (), config, tmp_path)]
    images = keras.Input((16, 16, 3))
    kept_rung(ladders[0], 1, {"face2cartoon": keras.Model(images, keras.layers.Identity()(images))})
    kept_rung(ladders[1], 1, {})
    kept_rung(ladders[1], 2, {})

    rows = ladder_contact_sheet.contact_rows(ladders, [1, 2], count=3)

    assert [label for label, _ in rows] == ["photos", "plain 1x", "guided 1x", "guided 2x"]
    assert all(images.shape == (3, 24, 24, 3) for _, images in rows)  # the largest translator's size
    photos = ladder_contact_sheet.held_out_photos(3, 24, PhotoLook("white"))
    np.testing.assert_allclose(rows[0][1], (photos + 1) / 2, atol=1e-6)
    np.testing.assert_allclose(rows[2][1], (1 - photos) / 2, atol=1e-6)  # negated, in [0, 1]
    assert np.abs(rows[1][1] - rows[0][1]).mean() < 0.05  # 16 px photos, upsampled: close to the 24 px ones
    assert translator.calls == 2 * [("cartoon", 1, ladder_contact_sheet.CONTACT_LATENT_SEED)]
