"""StarGAN v2's registration: its exports, its benchmark batches of images and int32 domains, and its model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks import train_step
from stargan_v2.registration import MODEL, build_model
from training import registry
from training.optimizers import CoupledAdam

TINY_OPTIONS = (("image_size", 32), ("max_conv_dim", 16))


def tiny(setting: registry.Benchmark, batch_size: int = 2) -> registry.Benchmark:
    """A benchmark setting at 32 px with narrow networks, its inputs of the same kinds as `setting`'s."""
    shapes = tuple((batch_size, 32, 32, 3) if len(shape) == 4 else (batch_size,) for shape in setting.input_shapes)
    return dataclasses.replace(setting, input_shapes=shapes, model_options=setting.model_options + TINY_OPTIONS)


def test_the_registration_names_the_exports_and_no_translate_directions(monkeypatch):
    registry.discover()
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    registry.register(MODEL)  # what the setup.cfg entry point does once installed: the same spec again is a no-op
    assert registry.get("stargan_v2") is MODEL
    assert MODEL.generators == ("generator", "mapping_network", "style_encoder") and MODEL.directions == ()
    assert MODEL.train_module == "stargan_v2.train"


@pytest.mark.parametrize("setting, batch_size", [(MODEL.benchmark, 8), (MODEL.more_benchmarks[0], 1)])
def test_the_benchmarks_are_the_official_step_with_int32_domains(setting, batch_size):
    assert setting.label == f"256px_batch{batch_size}"
    assert (setting.learning_rate, setting.beta_1, setting.beta_2, setting.weight_decay) == (1e-4, 0.0, 0.99, 1e-4)
    assert dict(setting.model_options) == {"w_hpf": 0, "num_domains": 2}
    sources, source_domains, references, second_references, target_domains = setting.batch()
    for images in (sources, references, second_references):
        assert images.shape == (batch_size, 256, 256, 3) and images.dtype == np.float32
    for domains in (source_domains, target_domains):
        assert domains.shape == (batch_size,) and domains.dtype == np.int32 and set(domains) <= {0, 1}


def test_a_runs_config_builds_the_model_it_describes():
    model = build_model({"image_size": 32, "max_conv_dim": 16, "num_domains": 3, "seed": 5, "style_dim": 8})
    assert (model.image_size, model.num_domains, model.style_dim, model.seed) == (32, 3, 8, 5)
    assert tuple(model.exportable_models()) == MODEL.generators


def test_the_train_step_benchmark_compiles_every_optimizer_of_the_official_recipe():
    model, batch = train_step.build(MODEL.untrained, tiny(MODEL.benchmark), jit_compile=False)
    for name in ("g_optimizer", "d_optimizer", "mapping_optimizer", "style_optimizer"):
        optimizer = getattr(model, name)
        assert type(optimizer) is CoupledAdam and (optimizer.beta_1, optimizer.weight_decay) == (0.0, 1e-4)
    assert batch[1].dtype == batch[4].dtype == np.int32


def test_the_train_step_benchmark_traces_the_step_on_int32_domains():
    assert train_step.train_step_flops(MODEL.untrained, tiny(MODEL.benchmark)) > 0
