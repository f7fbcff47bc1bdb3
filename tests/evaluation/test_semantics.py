"""`evaluation.semantics`: an identity translator keeps every attribute, noise keeps none; the CLI writes its report."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from evaluation import attributes, semantics
from preprocessing.pipeline import load_domain
from tests.evaluation.conftest import TINY_CLASSIFIER, run_cli

SIZE = TINY_CLASSIFIER["image_size"]


def identity_translator(size: int = SIZE) -> keras.Model:
    """A "translator" that returns its input: same-domain, it keeps every attribute by construction."""
    images = keras.Input((size, size, 3))
    return keras.Model(images, keras.layers.Identity()(images), name="identity")


class UniformNoise(keras.layers.Layer):
    """Replaces every image by uniform noise in [-1, 1]: a translator that keeps nothing of its source."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(0)

    def call(self, images):
        return keras.random.uniform(keras.ops.shape(images), -1.0, 1.0, seed=self.seed_generator)


def noise_translator(size: int = SIZE) -> keras.Model:
    images = keras.Input((size, size, 3))
    return keras.Model(images, UniformNoise()(images), name="noise")


def parse(*arguments) -> flags.FlagValues:
    flag_values = flags.FlagValues()
    semantics.define_flags(flag_values)
    flag_values(["semantics", *arguments])
    return flag_values


def test_an_identity_translator_scores_the_oracle(tiny_classifier):
    trained, _ = tiny_classifier
    count = TINY_CLASSIFIER["num_oracle_images"]
    evaluation = semantics.evaluate_translator(
        identity_translator(),
        trained.classifier,
        "cartoon",
        "cartoon",
        num_images=count,
        batch_size=48,
        num_examples=5,
        progress=False,
    )
    assert evaluation.count == count
    # The same held-out images the oracle was measured on, so exactly the oracle; a misalignment of images and
    # attributes (a shuffle, an off-by-one batch) would drop it to chance.
    for name, accuracy in evaluation.accuracies.items():
        assert accuracy == pytest.approx(trained.oracle[name], abs=1e-9)
    assert evaluation.sources.shape == evaluation.translations.shape == (5, SIZE, SIZE, 3)
    assert evaluation.references.shape == (5, SIZE, SIZE, 3)
    np.testing.assert_allclose(evaluation.sources, evaluation.translations)
    np.testing.assert_allclose(evaluation.sources, evaluation.references)  # cartoon -> cartoon: the same people


def test_a_noise_translator_scores_about_chance(tiny_classifier):
    trained, _ = tiny_classifier
    evaluation = semantics.evaluate_translator(
        noise_translator(), trained.classifier, "cartoon", "cartoon", num_images=160, batch_size=64, progress=False
    )
    for name, accuracy in evaluation.accuracies.items():
        chance = attributes.chance_level(name)
        # 160 images: the standard error of a chance-level accuracy is ~0.03.
        assert abs(accuracy - chance) < 0.12, (name, accuracy)
        assert accuracy < trained.oracle[name] - 0.3


def test_a_translator_of_another_size_is_read_at_the_classifier_size(tiny_classifier):
    trained, _ = tiny_classifier
    images = keras.Input((SIZE, SIZE, 3))
    upsampling = keras.Model(images, keras.layers.UpSampling2D(2, interpolation="nearest")(images))
    evaluation = semantics.evaluate_translator(
        upsampling, trained.classifier, "cartoon", "cartoon", num_images=64, progress=False
    )
    for name, accuracy in evaluation.accuracies.items():
        assert accuracy > trained.oracle[name] - 0.1  # 2x nearest up, then 2x area down: the same images


def test_cli_writes_the_report_the_json_the_grid_and_tensorboard_scalars(tmp_path):
    generator = tmp_path / "identity.keras"
    identity_translator().save(generator)
    out = tmp_path / "report"
    result = run_cli(
        "evaluation.semantics",
        f"--generator={generator}",
        "--source_domain=cartoon",
        "--target_domain=cartoon",
        f"--out={out}",
        "--num_images=40",
        "--num_train_images=96",
        "--epochs=1",
        "--num_oracle_images=40",
        "--batch_size=32",
        "--attributes=skin_tone,glasses",
        "--num_examples=4",
    )
    assert "cartoon2cartoon: 40 held-out images" in result.stdout
    report = (out / "semantics.md").read_text()
    assert report.startswith("# Attribute preservation: cartoon2cartoon (cartoon -> cartoon)")
    assert "| attribute | variants | translations | oracle | chance |" in report
    assert "| skin_tone | 5 |" in report and "| glasses | 4 |" in report and "| **mean** |" in report
    assert "![" in report and "(examples.png)" in report and "**40** held-out" in report
    results = json.loads((out / "semantics.json").read_text())
    assert results["num_images"] == 40 and results["oracle_images"] == 40
    for values in results["attributes"].values():  # identity on the oracle's images: equal, whatever the training
        assert values["translations"] == pytest.approx(values["oracle"])
    assert results["attributes"]["glasses"]["chance"] == 0.25
    assert (out / "examples.png").stat().st_size > 0
    assert (out / "classifiers" / f"cartoon_{SIZE}px_classifier.keras").is_file()

    tags = set()
    for event_file in (out / "tensorboard").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags.update(value.tag for value in event.summary.value)
    assert {
        "semantics/cartoon2cartoon/skin_tone",
        "semantics/cartoon2cartoon/mean",
        "semantics/cartoon2cartoon/oracle_mean",
        "semantics/cartoon2cartoon/examples",
    } <= tags


def test_cli_without_an_exported_generator_is_a_one_line_error(tmp_path):
    result = run_cli("evaluation.semantics", f"--run_dir={tmp_path}", "--direction=cartoon2face", check=False)
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {tmp_path}/export/cartoon2face.keras: no exported generator (train first; the harness exports "
        "generators to <run_dir>/export/)"
    ]


@pytest.mark.parametrize(
    "arguments, message",
    [
        ([], "give exactly one of --run_dir, --generator, --untrained"),
        (
            ["--untrained=xgan", "--generator=g.keras"],
            "give exactly one of --run_dir, --generator, --untrained (got --generator, --untrained)",
        ),
        (["--untrained=xgan"], "--out is required without --run_dir"),
        (
            ["--untrained=xgan", "--out=o", "--direction=horse2zebra"],
            "--direction=horse2zebra: cannot tell its domains; pass --source_domain",
        ),
        (["--untrained=xgan", "--out=o", "--attributes=skin_tone,tattoos"], "--attributes: unknown tattoos"),
    ],
)
def test_bad_flags_are_refused_before_any_work(arguments, message):
    with pytest.raises(semantics.SemanticsSetupError) as error:
        semantics.run(parse(*arguments), progress=False)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_directions_name_their_synthetic_domains():
    assert semantics.domains_of("face2cartoon", None, None) == ("photo", "cartoon")
    assert semantics.domains_of("cartoon2face", None, None) == ("cartoon", "photo")
    assert semantics.domains_of("a2b", "cartoon", "photo") == ("cartoon", "photo")
    assert semantics.domains_of("face2cartoon", None, "photo") == ("photo", "photo")
    with pytest.raises(semantics.SemanticsSetupError, match="--direction=a2b: cannot tell its domains"):
        semantics.domains_of("a2b", None, None)


def test_a_runs_built_in_sources_name_its_domains():
    cyclegan_config = {"a_source": "synthetic:cartoon", "b_source": "synthetic:photo:800"}
    assert semantics.domains_of("a2b", None, None, cyclegan_config) == ("cartoon", "photo")
    assert semantics.domains_of("b2a", None, "cartoon", cyclegan_config) == ("photo", "cartoon")
    real_faces = {"face_source": "folder:data/celeba", "cartoon_source": "synthetic:cartoon"}
    assert semantics.domains_of("face2cartoon", None, None, real_faces) == ("photo", "cartoon")
    with pytest.raises(semantics.SemanticsSetupError, match="pass --source_domain and --target_domain"):
        semantics.domains_of("a2b", None, None, {"a_source": "folder:horses", "b_source": "folder:zebras"})


def test_an_untrained_xgan_generator_translates_64_px_faces():
    generator = semantics.untrained_generator("xgan", "face2cartoon", seed=0)
    assert semantics.image_size_of(generator) == (64, 64)
    again = semantics.untrained_generator("xgan", "face2cartoon", seed=0)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(generator(images), again(images), rtol=1e-6)  # the seed fixes the weights
    with pytest.raises(semantics.SemanticsSetupError, match="an untrained xgan has face2cartoon, cartoon2face"):
        semantics.untrained_generator("xgan", "photo2anime", seed=0)


def test_the_photo_look_follows_the_flags_else_the_runs_config_else_photos_as_drawn(tmp_path):
    assert semantics.photo_look_of(parse("--untrained=xgan")) == attributes.PhotoLook("keep", "none")
    xgan = {"face_background": "white", "face_crop": "bbox", "face_source": "folder:faces"}
    assert semantics.photo_look_of(parse(f"--run_dir={tmp_path}"), xgan) == attributes.PhotoLook("white", "bbox")
    flagged = parse(f"--run_dir={tmp_path}", "--photo_background=keep", "--photo_crop=center")
    assert semantics.photo_look_of(flagged, xgan) == attributes.PhotoLook("keep", "center")
    cyclegan = {"a_source": "synthetic:cartoon", "b_source": "synthetic:photo", "b_background": "white"}
    cyclegan |= {"a_crop": "bbox", "b_crop": "none"}  # the crop of the photo side (b), not of the cartoons
    a2b = parse(f"--run_dir={tmp_path}", "--direction=a2b")
    assert semantics.photo_look_of(a2b, cyclegan) == attributes.PhotoLook("white", "none")


def test_photos_cropped_like_the_run_s_are_the_held_out_sources(tmp_path):
    """A run trained on --face_crop=bbox photos is scored on held-out photos cropped the same way: the records
    are the pipeline's own bbox crop of the painted photos, which fills the frame where the uncropped ones
    leave white margins."""
    common = dict(domain="photo", count=4, image_size=32, batch_size=4, seed=attributes.HELD_OUT_SEED)
    painted = next(iter(attributes.records(**common, photos=attributes.PhotoLook("white"))))["image"].numpy()
    cropped = next(iter(attributes.records(**common, photos=attributes.PhotoLook("white", "bbox"))))["image"].numpy()
    expected = load_domain(
        f"synthetic:photo:{common['count']}",
        image_size=32,
        batch_size=4,
        crop="bbox",
        background="white",
        shuffle=False,
        repeat=False,
        seed=attributes.HELD_OUT_SEED,
    )
    np.testing.assert_array_equal(cropped, next(iter(expected)).numpy())
    white_share = [np.mean(np.all(images == 1.0, axis=-1)) for images in (painted, cropped)]
    assert white_share[1] < white_share[0] - 0.1
    cartoons = {
        crop: attributes.records(**{**common, "domain": "cartoon"}, photos=attributes.PhotoLook("white", crop))
        for crop in ("none", "bbox")
    }
    np.testing.assert_array_equal(*(next(iter(each))["image"].numpy() for each in cartoons.values()))


def test_photos_with_a_white_background_are_painted_for_sources_and_classifiers():
    common = dict(domain="photo", count=4, image_size=32, batch_size=4, seed=attributes.HELD_OUT_SEED)
    kept = next(iter(attributes.records(**common)))
    painted = next(iter(attributes.records(**common, photos=attributes.PhotoLook("white"))))
    outside = kept["mask"].numpy()[..., 0] == 0
    assert np.all(painted["image"].numpy()[outside] == 1.0) and not np.all(kept["image"].numpy()[outside] == 1.0)
    with pytest.raises(attributes.ClassifierSetupError, match="photo background must be one of"):
        attributes.PhotoLook(background="grey")
    with pytest.raises(attributes.ClassifierSetupError, match="photo crop must be one of"):
        attributes.PhotoLook(crop="face")
    with pytest.raises(attributes.ClassifierSetupError, match="a cartoon classifier sees no photos"):
        attributes.ClassifierSettings(domain="cartoon", photos=attributes.PhotoLook("white"))
