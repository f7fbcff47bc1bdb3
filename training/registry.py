"""The model registry: what the shared tools (evaluation, benchmarks) know of each model package.

A model package registers once, with a `ModelSpec` in its `registration`
module, named by an entry point of the `xgan_toolkit.models` group in
`setup.cfg`:

    [options.entry_points]
    xgan_toolkit.models =
        xgan = xgan.registration:MODEL

The first lookup loads every entry point, which imports the package's model
and networks (registering its custom Keras layers, so its exported generators
load). A registration that fails to import raises its error: a broken model
package is never silently left out. A model that is not an installed package
(a test's toy) calls `register(spec)` instead. No shared module imports a model
package by name; they all ask here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib import metadata

import keras
import numpy as np

ENTRY_POINT_GROUP = "xgan_toolkit.models"

_SPECS: dict[str, ModelSpec] = {}
_discovered = False


class NotInstalledError(RuntimeError):
    """No entry points of the models' group: the project's metadata is not installed."""


class UnknownModelError(KeyError):
    """A model name nothing registered; its message is one line naming the registered ones."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A setting `benchmarks.train_step` times a model at: one input batch, Adam's hyper-parameters, and the
    options of the untrained model it builds (`ModelSpec.untrained(**model_options)`), e.g. an image size."""

    input_shapes: tuple[tuple[int, ...], ...]  # one shape per element of a training batch
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    label: str = "report"
    model_options: tuple[tuple[str, object], ...] = ()  # (name, value) pairs, kept hashable
    weight_decay: float = 0.0  # coupled (added to the gradient), as PyTorch's Adam(weight_decay=...)
    # One dtype per input, "float32" for all when empty; an "int32" input holds labels (domain ids, say) in
    # range(label_count).
    input_dtypes: tuple[str, ...] = ()
    label_count: int = 2

    def __post_init__(self):
        if self.input_dtypes and len(self.input_dtypes) != len(self.input_shapes):
            raise ValueError(f"benchmark {self.label}: one input_dtypes entry per input shape {self.input_shapes}")

    def batch(self, seed: int = 0):
        """A fixed batch: float32 inputs in [-1, 1], int32 ones in range(label_count); one array, or a tuple
        of them for a model trained on several inputs."""
        rng = np.random.default_rng(seed)
        dtypes = self.input_dtypes or ("float32",) * len(self.input_shapes)
        arrays = tuple(
            rng.integers(0, self.label_count, shape).astype(dtype)
            if np.issubdtype(dtype, np.integer)
            else rng.uniform(-1, 1, shape).astype(dtype)
            for shape, dtype in zip(self.input_shapes, dtypes)
        )
        return arrays[0] if len(arrays) == 1 else arrays


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model package, as the shared tools see it.

    name: the model's name, as `training.run.setup_run` records it in the run config.
    build: a run's config (as the run directory saves it) -> the model `<package>.train` trains.
    untrained: -> a model with fresh weights at its default settings (the floor a trained one must beat).
    generators: the names of `model.exportable_models()`, exported as `<run_dir>/export/<name>.keras`.
    directions: the generators that translate images, named "<source>2<target>"; empty for a model
        that draws images from noise. The first is what `<package>.translate` applies by default.
    direction_descriptions: what each of `directions` does, in the same order (e.g. "G_A, domain A to B"),
        for the translate CLI's --direction help; empty for none.
    benchmark: the report's training batch and optimizer, for `benchmarks.train_step`.
    more_benchmarks: further settings it times, each with its own `label` (CycleGAN at 128 px, say).
    training_callbacks: a run's config -> the Keras callbacks its training needs beyond the harness's own
        (U-GAT-IT's staged keypoint-predictor training, say); None for none.
    train_module: the module of its train CLI (e.g. "xgan.train"), which has `define_flags(flag_values)`,
        `resolve_config(flag_values)` and `build_dataset(config)`; `benchmarks.train_step` times `fit()` on
        the data the CLI trains on by default. None for a model without one.
    """

    name: str
    build: Callable[[dict], keras.Model]
    untrained: Callable[[], keras.Model]
    generators: tuple[str, ...]
    directions: tuple[str, ...]
    benchmark: Benchmark
    train_module: str | None = None
    more_benchmarks: tuple[Benchmark, ...] = ()
    training_callbacks: Callable[[dict], list] | None = None
    direction_descriptions: tuple[str, ...] = ()

    @property
    def benchmarks(self) -> tuple[Benchmark, ...]:
        """Every setting `benchmarks.train_step` times, the report's first."""
        return (self.benchmark, *self.more_benchmarks)

    def __post_init__(self):
        unknown = [direction for direction in self.directions if direction not in self.generators]
        if unknown:
            raise ValueError(f"model {self.name}: directions {unknown} are not among its generators {self.generators}")
        if self.direction_descriptions and len(self.direction_descriptions) != len(self.directions):
            raise ValueError(f"model {self.name}: one direction_descriptions entry per direction {self.directions}")


def register(spec: ModelSpec) -> ModelSpec:
    """Adds `spec` under `spec.name`; registering the same spec again is a no-op, another under a taken name fails."""
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register() expects a ModelSpec, got {type(spec).__name__}")
    if _SPECS.get(spec.name, spec) is not spec:
        raise ValueError(f"model {spec.name}: already registered by another spec")
    _SPECS[spec.name] = spec
    return spec


def discover() -> None:
    """Registers every model of the `xgan_toolkit.models` entry points (once); their import errors propagate.

    NotInstalledError if there are none: the project runs from a checkout that was never installed.
    """
    global _discovered
    if _discovered:
        return
    entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    if not entry_points:
        raise NotInstalledError(
            f"no {ENTRY_POINT_GROUP} entry points: install the project (pip install -e .) so its models register"
        )
    for entry_point in entry_points:
        spec = entry_point.load()
        if not isinstance(spec, ModelSpec) or spec.name != entry_point.name:
            raise TypeError(
                f"entry point {entry_point.name} = {entry_point.value}: not a ModelSpec named {entry_point.name}"
            )
        register(spec)
    _discovered = True


def names() -> tuple[str, ...]:
    """The registered models' names, sorted."""
    discover()
    return tuple(sorted(_SPECS))


def translators() -> tuple[str, ...]:
    """The registered models that translate images (those with directions), sorted."""
    return tuple(name for name in names() if _SPECS[name].directions)


def get(name: str) -> ModelSpec:
    """The spec registered as `name`; UnknownModelError names the registered ones."""
    discover()
    if name not in _SPECS:
        raise UnknownModelError(f"unknown model {name!r}; registered: {', '.join(sorted(_SPECS))}")
    return _SPECS[name]
