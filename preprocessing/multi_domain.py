"""Several named image domains, and batches that pair sources of every domain with references of a target domain.

    domains = parse_domain_list("face=folder:faces,cartoon=cartoonset:cs10k")  # [(name, spec), ...]
    batches = reference_batches([images_of_face, images_of_cartoon], batch_size=8, seed=0)

A domain's id is its index in the list. `reference_batches` draws what a
multi-domain translator trains on, as StarGAN v2's loaders do
(clovaai/stargan-v2 core/data_loader.py): the source loader's
`_make_balanced_sampler` weighs every image by 1 / (images of its domain), so
each source's domain is uniform over the domains, whatever their sizes; the
ReferenceDataset gives two images of one domain, that domain being the
target, drawn by its own balanced sampler, independently of the source's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MIN_DOMAINS = 2
# Draws per example: its source, then its two references.
DRAWS_PER_EXAMPLE = 3


def parse_domain_list(text: str) -> list[tuple[str, str]]:
    """ "name=spec,name=spec" -> [(name, spec), ...]; ValueError naming the bad entry.

    Names are letters, digits, "_", "-" and "." (they label grids and files), each used once; a spec is a
    source spec (`preprocessing.sources`), which may itself contain ":" but not ",". At least two domains.
    """
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    domains = []
    for entry in entries:
        name, equals, spec = (part.strip() for part in entry.partition("="))
        if not equals or not spec:
            raise ValueError(f"entry {entry!r} is not NAME=SOURCE_SPEC")
        if not NAME.fullmatch(name):
            raise ValueError(f"entry {entry!r}: a domain name is letters, digits, '_', '-' or '.'")
        if name in (known for known, _ in domains):
            raise ValueError(f"domain {name!r} is named twice")
        domains.append((name, spec))
    if len(domains) < MIN_DOMAINS:
        raise ValueError(f"needs at least {MIN_DOMAINS} domains, got {len(domains)} in {text!r}")
    return domains


def folder_domains(path: str) -> list[tuple[str, str]]:
    """[(subfolder name, "folder:<path>/<name>"), ...] of a folder with one subfolder per domain, sorted by name
    (the official train/female, train/male layout; a domain's id is its place in that order, as the official
    ImageFolder and ReferenceDataset number them). ValueError if it is not a folder or has fewer than two."""
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{path!r} is not a folder")
    names = sorted(child.name for child in root.iterdir() if child.is_dir() and not child.name.startswith("."))
    if len(names) < MIN_DOMAINS:
        raise ValueError(f"{path!r} needs one subfolder per domain, at least {MIN_DOMAINS}; found {names or 'none'}")
    return [(name, f"folder:{root / name}") for name in names]


def reference_batches(domain_images: Sequence[tf.data.Dataset], batch_size: int, seed: int = 0) -> tf.data.Dataset:
    """Endless batches `(sources, source_domains, references, second_references, target_domains)`.

    `domain_images[k]`: an endless dataset of single images of domain k (float32 [S, S, 3]). Each example
    draws its source's domain and its target domain uniformly and independently (the balanced samplers),
    then one image of the source domain and two consecutive images of the target domain: the references,
    whose domain is the target. Domains are int32 [batch_size].
    """
    count = len(domain_images)
    labelled = [
        images.map(lambda image, domain=domain: (image, tf.constant(domain, tf.int32)))
        for domain, images in enumerate(domain_images)
    ]

    def draws(index):
        """The domains an example draws from: its source domain, then its target domain twice."""
        source, target = tf.unstack(
            tf.random.stateless_uniform([2], tf.stack([tf.cast(seed, tf.int64), index]), 0, count, tf.int64)
        )
        return tf.data.Dataset.from_tensor_slices(tf.stack([source, target, target]))

    choices = tf.data.Dataset.counter().flat_map(draws)
    examples = tf.data.Dataset.choose_from_datasets(labelled, choices).batch(DRAWS_PER_EXAMPLE)

    def split(images, domains):
        return images[:, 0], domains[:, 0], images[:, 1], images[:, 2], domains[:, 1]

    return examples.batch(batch_size, drop_remainder=True).map(split).prefetch(tf.data.AUTOTUNE)
