"""Provenance of a style-guided translation: which attributes come from the source, which from the reference.

StarGAN v2 (Choi et al., 2020) translates a source image x into a target
domain y with a style code s, G(x, s): the style of a reference image of y,
s = E_y(x_ref) (reference-guided), or of a random latent code, s = F_y(z)
(latent-guided). Its paper shows hair, skin and background following the
reference while pose and identity follow the source. The built-in faces
(`preprocessing.synthetic`) know every attribute of every record, so this
measures it, with the target domain's attribute classifier c
(`evaluation.attributes`):

Reference-guided: source i is record i of HELD_OUT_SEED (i < N, the held-out
sources every model is scored on) and its reference is the target-domain record
pi(i) of the same seed, pi a random cyclic permutation of 0..N-1 drawn from a
seed, so pi(i) != i: always another person. Per attribute a,

    from source_a    = 1/N sum_i [ c_a(G(x_i, E_y(r_pi(i)))) = a(x_i) ]
    from reference_a = 1/N sum_i [ c_a(G(x_i, E_y(r_pi(i)))) = a(r_pi(i)) ]

The attributes of two people are independent draws, so an attribute taken
from the reference scores about chance (1 / variants) "from source" and up to
the oracle (the classifier's accuracy on real images) "from reference"; one
kept from the source, the other way round.

Latent-guided: each source with K styles F_y(z_k), z_k ~ N(0, I); the
accuracy over the N K translations against the source's attributes (as
`evaluation.semantics` scores the other models), and their diversity, the mean
pairwise distance of the classifier's penultimate features phi
(`evaluation.features.classifier_extractor`) over the K styles of a source:

    diversity = 1/N sum_i 2 / (K (K - 1)) sum_{k < l} || phi(G(x_i, s_k)) - phi(G(x_i, s_l)) ||_2

beside the same distance between the real target images of the paired
people, || phi(r_i) - phi(r_pi(i)) ||, the spread of real faces. The paper's
diversity measure is LPIPS, whose networks need ImageNet-trained weights that
are not available here; the attribute classifier's features stand in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from evaluation import attributes
from evaluation.attributes import AS_DRAWN, HELD_OUT_SEED, PhotoLook
from evaluation.features import classifier_extractor
from evaluation.semantics_setup import DOMAIN_ALIASES, SemanticsSetupError, synthetic_domain

DEFAULT_STYLES_PER_SOURCE = 4


@dataclass(frozen=True)
class GuidedDirection:
    """A translation between two of a guided translator's domains, and the synthetic domains that draw them."""

    source_name: str  # the translator's names of the domains
    target_name: str
    source_domain: str  # "photo" or "cartoon"
    target_domain: str

    @property
    def name(self) -> str:
        return f"{self.source_name}2{self.target_name}"


def guided_directions(domain_names, config: dict | None = None, requested: str | None = None) -> list:
    """The GuidedDirections between the translator's domains that the built-in faces draw, each ordered pair.

    A domain is a synthetic one when the run trained it on synthetic:<domain> (the run config's "domain_sources",
    in domain-id order), else by its name (DOMAIN_ALIASES: face -> photo). `requested` ("<source>2<target>")
    keeps that one.
    """
    sources = list((config or {}).get("domain_sources") or [])
    drawn = {}
    for index, name in enumerate(domain_names):
        domain = synthetic_domain(sources[index] if index < len(sources) else None) or DOMAIN_ALIASES.get(name)
        if domain:
            drawn[name] = domain
    pairs = [GuidedDirection(a, b, drawn[a], drawn[b]) for a in drawn for b in drawn if a != b]
    if not pairs:
        raise SemanticsSetupError(
            f"the translator's domains ({', '.join(domain_names)}) include fewer than two the built-in faces draw: "
            f"name them {' or '.join(sorted(DOMAIN_ALIASES))}, or train them on synthetic:photo and synthetic:cartoon"
        )
    if requested is None:
        return pairs
    chosen = [pair for pair in pairs if pair.name == requested]
    if not chosen:
        raise SemanticsSetupError(
            f"--direction={requested}: the guided translator translates {', '.join(pair.name for pair in pairs)}"
        )
    return chosen


def reference_pairing(count: int, seed: int) -> np.ndarray:
    """pi: a random cyclic permutation of range(count) drawn with `seed`, so pi[i] != i for count >= 2.

    Visiting a random order o and pairing o[k] with o[k + 1] (the last with the first) makes one cycle.
    """
    if count < 2:
        raise SemanticsSetupError("--num_images: a reference of another person needs at least 2 held-out records")
    order = np.random.default_rng(seed).permutation(count)
    pairing = np.empty(count, np.int64)
    pairing[order] = np.roll(order, -1)
    return pairing


def held_out(domain: str, count: int, image_size: int, batch_size: int, photos: PhotoLook = AS_DRAWN):
    """(images [count, S, S, 3] in [-1, 1], {attribute: labels [count]}) of records 0..count-1 of HELD_OUT_SEED."""
    images, labels = [], {}
    for batch in attributes.records(domain, count, image_size, batch_size, HELD_OUT_SEED, photos):
        images.append(batch["image"].numpy())
        for name, values in batch["attributes"].items():
            labels.setdefault(name, []).append(values.numpy())
    return np.concatenate(images), {name: np.concatenate(values) for name, values in labels.items()}


def predictions(classifier, images: np.ndarray, batch_size: int) -> dict:
    """{attribute: predicted variant [N]} of images in [-1, 1], `batch_size` at a time."""
    parts = [
        attributes.predict_attributes(classifier, images[start : start + batch_size])
        for start in range(0, len(images), batch_size)
    ]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def features_of(extract, images: np.ndarray, batch_size: int) -> np.ndarray:
    """The extractor's features [N, D] of images in [-1, 1], `batch_size` at a time."""
    return np.concatenate(
        [np.asarray(extract(images[start : start + batch_size])[0]) for start in range(0, len(images), batch_size)]
    )


def mean_pairwise_distances(features: np.ndarray) -> np.ndarray:
    """[N]: for each of N sources, the mean Euclidean distance between the features [N, K, D] of its K styles."""
    count = features.shape[1]
    differences = features[:, :, None, :] - features[:, None, :, :]
    distances = np.sqrt(np.sum(np.square(differences, dtype=np.float64), axis=-1))  # [N, K, K], zero diagonal
    return distances.sum(axis=(1, 2)) / (count * (count - 1))


def _count_hits(hits: dict, predicted: dict, labels: dict) -> None:
    for name, values in predicted.items():
        hits[name] = hits.get(name, 0) + int(np.sum(values == labels[name]))


@dataclass
class GuidedEvaluation:
    """What one guided translator did to the held-out sources of one direction."""

    count: int  # sources
    from_source: dict  # {attribute: reference-guided accuracy against the source's attributes}
    from_reference: dict  # {attribute: reference-guided accuracy against the reference's attributes}
    latent: dict  # {attribute: latent-guided accuracy against the source's attributes, over every style}
    styles_per_source: int
    diversity: float  # mean pairwise feature distance of a source's latent-guided translations
    real_diversity: float  # the same distance between the real target images of two paired people
    sources: np.ndarray  # the first examples, [E, S, S, 3] in [-1, 1]
    references: np.ndarray
    translations: np.ndarray  # reference-guided
    styled: np.ndarray  # latent-guided, [E, K, S, S, 3]


def evaluate_guided(
    translator,
    classifier,
    direction: GuidedDirection,
    num_images: int,
    styles_per_source: int = DEFAULT_STYLES_PER_SOURCE,
    batch_size: int = 64,
    num_examples: int = 8,
    seed: int = 0,
    photos: PhotoLook = AS_DRAWN,
    progress: bool = True,
) -> GuidedEvaluation:
    """Translates records 0..num_images-1 of HELD_OUT_SEED each way of the module docstring and scores them.

    `seed` draws the pairing and the latent codes (batch b's with seed + b). The translator gets batch_size //
    styles_per_source sources a call, so no call makes more than `batch_size` images; the classifier reads them
    at the translator's `image_size`. The target-domain records stay in memory (N x S x S x 3 floats) for the
    pairing to pick from.
    """
    if styles_per_source < 2:
        raise SemanticsSetupError("--styles_per_source: the diversity of a source's styles needs at least 2")
    size = translator.image_size
    references, reference_labels = held_out(direction.target_domain, num_images, size, batch_size, photos)
    pairing = reference_pairing(num_images, seed)
    extract = classifier_extractor(classifier)
    from_source, from_reference, latent, diversities, examples = {}, {}, {}, [], []
    start = 0
    sources_a_call = max(1, batch_size // styles_per_source)
    batches = attributes.records(direction.source_domain, num_images, size, sources_a_call, HELD_OUT_SEED, photos)
    with tqdm(total=num_images, unit="img", desc=direction.name, disable=not progress, leave=False) as bar:
        for batch_index, batch in enumerate(batches):
            sources = batch["image"].numpy()
            source_labels = {name: values.numpy() for name, values in batch["attributes"].items()}
            paired = pairing[start : start + len(sources)]
            translated = np.asarray(translator.with_reference(sources, references[paired], direction.target_name))
            predicted = predictions(classifier, translated, batch_size)
            _count_hits(from_source, predicted, source_labels)
            _count_hits(from_reference, predicted, {name: values[paired] for name, values in reference_labels.items()})
            styled = np.asarray(
                translator.with_latent(sources, direction.target_name, styles_per_source, seed + batch_index)
            )
            flat = styled.reshape(-1, *styled.shape[2:])
            repeated = {name: np.repeat(values, styles_per_source) for name, values in source_labels.items()}
            _count_hits(latent, predictions(classifier, flat, batch_size), repeated)
            features = features_of(extract, flat, batch_size).reshape(len(sources), styles_per_source, -1)
            diversities.append(mean_pairwise_distances(features))
            if start < num_examples:
                examples.append((sources, references[paired], translated, styled))
            start += len(sources)
            bar.update(len(sources))
    real_features = features_of(extract, references, batch_size)
    real_distances = np.linalg.norm(real_features - real_features[pairing], axis=-1)

    def first(part: int) -> np.ndarray:
        return np.concatenate([example[part] for example in examples])[:num_examples]

    return GuidedEvaluation(
        count=start,
        from_source={name: hits / start for name, hits in from_source.items()},
        from_reference={name: hits / start for name, hits in from_reference.items()},
        latent={name: hits / (start * styles_per_source) for name, hits in latent.items()},
        styles_per_source=styles_per_source,
        diversity=float(np.mean(np.concatenate(diversities))),
        real_diversity=float(np.mean(real_distances)),
        sources=first(0),
        references=first(1),
        translations=first(2),
        styled=first(3),
    )
