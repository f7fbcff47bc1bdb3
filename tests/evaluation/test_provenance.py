"""`evaluation.provenance`: a translator that copies its reference scores the oracle "from reference" and chance
"from source", one that renders the source scores the other way round; identical styles have no diversity; a run of
a registered guided model gets the provenance report from `python -m evaluation.semantics --run_dir`."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from evaluation import attributes, provenance, provenance_report, semantics
from evaluation.provenance import GuidedDirection
from tests.evaluation.conftest import TINY_CLASSIFIER
from tests.training import toy_gan
from training import registry

SIZE = TINY_CLASSIFIER["image_size"]
COUNT = TINY_CLASSIFIER["num_oracle_images"]  # the oracle's images: scores on them equal it exactly
PHOTO_TO_CARTOON = GuidedDirection("photo", "cartoon", "photo", "cartoon")


class GuidedToy:
    """A guided translator over the held-out records of the built-in faces: it knows each source's person.

    with_reference: the reference itself (`copy_reference`), else the real target-domain image of the source's
    person. with_latent: that image K times (`identical_styles`), else K other people's target-domain images.
    """

    domains = ("photo", "cartoon")
    image_size = SIZE

    def __init__(self, count: int = COUNT, copy_reference: bool = False, identical_styles: bool = True):
        self.copy_reference, self.identical_styles = copy_reference, identical_styles
        self.images = {domain: provenance.held_out(domain, count, SIZE, 64)[0] for domain in self.domains}
        self.person = {image.tobytes(): index for images in self.images.values() for index, image in enumerate(images)}

    def people(self, sources) -> np.ndarray:
        return np.array([self.person[source.tobytes()] for source in sources])

    def with_reference(self, sources, references, target_domain):
        return references if self.copy_reference else self.images[target_domain][self.people(sources)]

    def with_latent(self, sources, target_domain, styles_per_source, seed=0):
        people = self.people(sources)[:, None] + np.arange(styles_per_source) * (0 if self.identical_styles else 7)
        return self.images[target_domain][people % len(self.images[target_domain])]


def evaluate(translator, classifier, **options):
    return provenance.evaluate_guided(
        translator, classifier, PHOTO_TO_CARTOON, COUNT, batch_size=48, num_examples=3, progress=False, **options
    )


def test_a_translator_that_copies_its_reference_takes_every_attribute_from_the_reference(tiny_classifier):
    trained, _ = tiny_classifier
    evaluation = evaluate(GuidedToy(copy_reference=True), trained.classifier)
    assert evaluation.count == COUNT
    for name in TINY_CLASSIFIER["attributes"]:
        # The references are the oracle's images in another order: exactly its accuracy; a misaligned pairing
        # of references and their attributes would drop it to chance.
        assert evaluation.from_reference[name] == pytest.approx(trained.oracle[name], abs=1e-9)
        # Another person's attribute matches the source's by chance; 160 images: standard error ~0.03.
        assert abs(evaluation.from_source[name] - attributes.chance_level(name)) < 0.12, name
    assert evaluation.translations.shape == evaluation.references.shape == (3, SIZE, SIZE, 3)
    np.testing.assert_array_equal(evaluation.translations, evaluation.references)
    assert not np.array_equal(evaluation.sources, evaluation.references)


def test_a_translator_that_renders_its_source_keeps_every_attribute_of_the_source(tiny_classifier):
    trained, _ = tiny_classifier
    evaluation = evaluate(GuidedToy(), trained.classifier, styles_per_source=3)
    for name in TINY_CLASSIFIER["attributes"]:
        assert evaluation.from_source[name] == pytest.approx(trained.oracle[name], abs=1e-9)
        assert evaluation.latent[name] == pytest.approx(trained.oracle[name], abs=1e-9)
        assert abs(evaluation.from_reference[name] - attributes.chance_level(name)) < 0.12, name
    assert evaluation.styled.shape == (3, 3, SIZE, SIZE, 3)
    assert evaluation.diversity == 0.0  # three identical styles
    assert evaluation.real_diversity > 0.5


def test_styles_of_other_people_are_as_diverse_as_real_people(tiny_classifier):
    trained, _ = tiny_classifier
    evaluation = evaluate(GuidedToy(identical_styles=False), trained.classifier, styles_per_source=2)
    assert evaluation.diversity == pytest.approx(evaluation.real_diversity, rel=0.2)
    for name in TINY_CLASSIFIER["attributes"]:  # half the styles are the source's person, half another
        assert evaluation.latent[name] == pytest.approx(
            (trained.oracle[name] + attributes.chance_level(name)) / 2, abs=0.1
        )


def test_mean_pairwise_distances_average_each_sources_pairs_of_styles():
    features = np.array([[[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]], [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]])
    np.testing.assert_allclose(provenance.mean_pairwise_distances(features), [(5 + 10 + 5) / 3, 0.0])


def test_the_pairing_is_one_seeded_cycle_so_never_the_same_person():
    pairing = provenance.reference_pairing(50, seed=3)
    assert sorted(pairing) == list(range(50)) and np.all(pairing != np.arange(50))
    visited, index = set(), 0
    while index not in visited:
        visited.add(index)
        index = pairing[index]
    assert len(visited) == 50
    np.testing.assert_array_equal(provenance.reference_pairing(50, seed=3), pairing)
    assert not np.array_equal(provenance.reference_pairing(50, seed=4), pairing)
    np.testing.assert_array_equal(provenance.reference_pairing(2, seed=0), [1, 0])
    with pytest.raises(semantics.SemanticsSetupError, match="at least 2 held-out records"):
        provenance.reference_pairing(1, seed=0)


def test_directions_are_the_pairs_of_domains_the_built_in_faces_draw():
    assert [d.name for d in provenance.guided_directions(("face", "anime"))] == ["face2anime", "anime2face"]
    assert provenance.guided_directions(("face", "anime"))[0] == GuidedDirection("face", "anime", "photo", "cartoon")
    trained_on = {"domain_sources": ["synthetic:cartoon:2048", "folder:data/dogs", "synthetic:photo"]}
    directions = provenance.guided_directions(("a", "dog", "b"), trained_on, requested="b2a")
    assert directions == [GuidedDirection("b", "a", "photo", "cartoon")]
    with pytest.raises(semantics.SemanticsSetupError, match="--direction=a2dog: the guided translator translates"):
        provenance.guided_directions(("a", "dog", "b"), trained_on, requested="a2dog")
    with pytest.raises(semantics.SemanticsSetupError, match=r"domains \(cat, dog\) include fewer than two"):
        provenance.guided_directions(("cat", "dog"))


@pytest.fixture
def guided_run(tmp_path, monkeypatch):
    """A run directory of a registered toy model whose guided translator is GuidedToy."""
    registry.discover()
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    spec = dataclasses.replace(toy_gan.MODEL, name="toy_guided", guided_translator=lambda directory: GuidedToy(40))
    registry.register(spec)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"model": "toy_guided", "domains": ["photo", "cartoon"]}))
    return run_dir


def parse(*arguments) -> flags.FlagValues:
    flag_values = flags.FlagValues()
    semantics.define_flags(flag_values)
    flag_values(["semantics", *arguments])
    return flag_values


SMALL_RUN = (
    "--num_images=40",
    "--num_train_images=64",
    "--epochs=1",
    "--num_oracle_images=40",
    "--batch_size=32",
    "--attributes=skin_tone,hair_color",
    "--styles_per_source=2",
    "--num_examples=3",
)


def test_a_guided_models_run_gets_the_provenance_report_in_both_directions(guided_run, tmp_path, capsys):
    everything = semantics.run(parse(f"--run_dir={guided_run}", *SMALL_RUN), progress=False)
    assert list(everything) == ["photo2cartoon", "cartoon2photo"]
    for direction, results in everything.items():
        out = guided_run / "semantics" / direction
        assert json.loads((out / "provenance.json").read_text()) == results
        assert (out / "provenance.png").stat().st_size > 0
        for name, row in results["reference_guided"]["attributes"].items():  # renders the source: the oracle
            assert row["from_source"] == pytest.approx(row["oracle"]) and row["chance"] == attributes.chance_level(name)
        assert results["latent_guided"]["diversity"] == 0.0 and results["latent_guided"]["num_translations"] == 80
        report = (out / "provenance.md").read_text()
        assert "| attribute | from source | from reference | chance | oracle |" in report
        assert "| skin_tone | " in report and "| **mean** | " in report and provenance_report.LPIPS_NOTE in report
    assert everything["cartoon2photo"]["target_domain"] == "photo"
    tags = set()
    for event_file in (guided_run / "tensorboard" / "semantics").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags.update(value.tag for value in event.summary.value)
    assert {
        "provenance/photo2cartoon/from_source/skin_tone",
        "provenance/photo2cartoon/from_reference/mean",
        "provenance/cartoon2photo/latent/hair_color",
        "provenance/cartoon2photo/latent_diversity",
        "provenance/cartoon2photo/examples",
    } <= tags

    again = semantics.run(
        parse(f"--run_dir={guided_run}", *SMALL_RUN, "--direction=cartoon2photo", f"--out={tmp_path}")
    )
    assert list(again) == ["cartoon2photo"] and again["cartoon2photo"] == everything["cartoon2photo"]
    assert (tmp_path / "cartoon2photo" / "provenance.md").is_file()
    assert "photo classifier: cached" in capsys.readouterr().out


def test_a_guided_translator_that_cannot_load_is_a_one_line_error(guided_run, monkeypatch):
    def missing(directory):
        raise FileNotFoundError(f"{directory}/export/generator.keras: no such file")

    spec = dataclasses.replace(registry.get("toy_guided"), guided_translator=missing)
    monkeypatch.setitem(registry._SPECS, "toy_guided", spec)
    with pytest.raises(semantics.SemanticsSetupError) as error:
        semantics.run(parse(f"--run_dir={guided_run}"), progress=False)
    assert str(error.value) == (
        f"{guided_run}: cannot load the toy_guided guided translator: {guided_run}/export/generator.keras: no such file"
    )


def test_photos_keep_their_look_unless_the_flags_or_the_run_painted_or_cropped_them(guided_run):
    directions = provenance.guided_directions(("face", "anime"))
    flag_values = parse(f"--run_dir={guided_run}")

    def look(flag_values, config):
        found = provenance_report.photo_look_of(flag_values, config, directions)
        return found.background, found.crop

    assert look(flag_values, {}) == ("keep", "none")
    assert look(flag_values, {"white_background": ["face"], "crop": "bbox"}) == ("white", "bbox")
    assert look(flag_values, {"white_background": ["anime"]}) == ("keep", "none")
    painted = parse(f"--run_dir={guided_run}", "--photo_background=white", "--photo_crop=center")
    assert look(painted, {"crop": "bbox"}) == ("white", "center")
    cartoons_only = provenance.guided_directions(("anime", "cartoon"))
    assert provenance_report.photo_look_of(flag_values, {"crop": "bbox"}, cartoons_only).crop == "none"
