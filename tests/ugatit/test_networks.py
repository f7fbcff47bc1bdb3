"""ugatit.networks: the PyTorch reference's parameter counts and layer tables, AdaLIN/ILN/CAM against NumPy.

The reference is znxlwm/UGATIT-pytorch, networks.py (ResnetGenerator, Discriminator, adaILN, ILN) at the
defaults UGATIT.py uses (ngf = ndf = 64, 4 residual blocks, discriminators of 7 and 5 layers).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from training.constraints import ClipConstraint
from training.layers import RematerializedSequence
from ugatit import memory, networks

SMALL = 96  # px: the smallest image the global discriminator takes; every generator padding fits
SMALL_FILTERS = 8


@pytest.fixture(scope="module")
def full_generator_256() -> keras.Model:
    # ~1.1 GB of float32 weights, built once: 268,435,456 of its 278,959,808 parameters are the MLP's first
    # Dense on the flattened 64x64x256 bottleneck (1,048,576 inputs x 256 units).
    return networks.ugatit_generator(256, light=False)


@pytest.fixture(scope="module")
def light_generator_256() -> keras.Model:
    return networks.ugatit_generator(256, light=True)


@pytest.fixture(scope="module")
def global_discriminator_256() -> keras.Model:
    return networks.ugatit_discriminator(256, n_layers=networks.GLOBAL_DISCRIMINATOR_LAYERS)


@pytest.fixture(scope="module")
def local_discriminator_256() -> keras.Model:
    return networks.ugatit_discriminator(256, n_layers=networks.LOCAL_DISCRIMINATOR_LAYERS)


@pytest.fixture
def mixed_bfloat16():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def random_images(size: int = SMALL, n: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype(np.float32)


def small_generator(light: bool = True) -> keras.Model:
    return networks.ugatit_generator(SMALL, light=light, filters=SMALL_FILTERS)


def small_discriminator(n_layers: int = networks.GLOBAL_DISCRIMINATOR_LAYERS, size: int = SMALL) -> keras.Model:
    return networks.ugatit_discriminator(size, n_layers=n_layers, filters=SMALL_FILTERS)


def numpy(tensor) -> np.ndarray:
    return keras.ops.convert_to_numpy(tensor)


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)


def dtype_of(tensor) -> str:
    return keras.backend.standardize_dtype(tensor.dtype)


def spectral_layers(model: keras.Model) -> list:
    """Every SpectralNormalization wrapper of `model`, the CAM's Dense ones included."""
    found = []
    for layer in model.layers:
        if isinstance(layer, networks.ClassActivationMap):
            found += [
                dense for dense in layer.pooled_dense.values() if isinstance(dense, keras.layers.SpectralNormalization)
            ]
        elif isinstance(layer, keras.layers.SpectralNormalization):
            found.append(layer)
    return found


def largest_singular_value(kernel) -> float:
    kernel = numpy(kernel)
    return float(np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0])


# --- parameter counts: the PyTorch reference's ---


def test_light_generator_has_the_reference_parameter_count(light_generator_256):
    assert light_generator_256.count_params() == 10_589_888


def test_full_generator_has_the_reference_parameter_count(full_generator_256):
    assert full_generator_256.count_params() == 278_959_808


def test_full_generator_mlp_sees_the_flattened_bottleneck(full_generator_256):
    fc1 = full_generator_256.get_layer("generator_mlp_fc1")
    assert tuple(fc1.kernel.shape) == (64 * 64 * 256, 256)
    assert int(np.prod(fc1.kernel.shape)) == 268_435_456
    assert fc1.bias is None


def test_full_generator_mlp_kernel_is_kept_as_16_row_blocks_of_64_mb(full_generator_256):
    """What lets Adam update it one block's gradient at a time (ugatit.factored_updates)."""
    blocks = full_generator_256.get_layer("generator_mlp_fc1").kernel_blocks
    assert [tuple(block.shape) for block in blocks] == [(65_536, 256)] * 16
    assert blocks[1].path.endswith("kernel_rows_65536_131072")


def test_generators_have_only_trainable_weights(light_generator_256, full_generator_256):
    """No buffers: the generator has no spectral normalisation (so no u vectors) and IN has no statistics."""
    for generator in (light_generator_256, full_generator_256):
        assert generator.non_trainable_weights == []
        assert trainable_count(generator) == generator.count_params()


@pytest.mark.parametrize(
    "which, trainable",
    [("global", 53_130_176), ("local", 3_290_560)],
)
def test_discriminator_has_the_reference_trainable_parameter_count(request, which, trainable):
    discriminator = request.getfixturevalue(f"{which}_discriminator_256")
    assert trainable_count(discriminator) == trainable


# Spectral normalisation keeps one non-trainable u per wrapped layer, sized by the layer's output units (as
# PyTorch's weight_u buffer; PyTorch also buffers v, Keras recomputes it). Global: 9 SN layers, conv1-6
# (64 ... 2048 filters), the CAM's two Dense(1) and the logits conv (1 filter): 4,035. Local: 7 SN layers,
# conv1-4 (64 ... 512), two Dense(1), logits: 963.
SPECTRAL_U_SIZES = {
    "global": [64, 128, 256, 512, 1024, 2048, 1, 1, 1],
    "local": [64, 128, 256, 512, 1, 1, 1],
}


@pytest.mark.parametrize("which", ["global", "local"])
def test_discriminator_u_vectors_are_its_only_non_trainable_weights(request, which):
    discriminator = request.getfixturevalue(f"{which}_discriminator_256")
    non_trainable = discriminator.non_trainable_weights
    assert all(weight.path.endswith("vector_u") for weight in non_trainable)
    assert sorted(int(np.prod(weight.shape)) for weight in non_trainable) == sorted(SPECTRAL_U_SIZES[which])
    assert len(non_trainable) == len(spectral_layers(discriminator))
    u_total = {"global": 4_035, "local": 963}[which]
    assert sum(SPECTRAL_U_SIZES[which]) == u_total
    assert discriminator.count_params() == trainable_count(discriminator) + u_total


# --- layer output shapes at 256 px: (layer, output index or None, shape without the batch) ---

GENERATOR_TABLE = [
    ("generator_stem", None, (256, 256, 64)),
    ("generator_down1", None, (128, 128, 128)),
    ("generator_down2", None, (64, 64, 256)),
    *[(f"generator_block{index}_add", None, (64, 64, 256)) for index in range(1, 5)],
    ("generator_cam", 0, (64, 64, 512)),  # GAP-weighted then GMP-weighted maps
    ("generator_cam", 1, (2,)),  # CAM logits
    ("generator_cam_conv1x1", None, (64, 64, 256)),
    ("generator_heatmap", None, (64, 64, 1)),
    ("generator_mlp_flatten", None, (64 * 64 * 256,)),
    ("generator_mlp_fc2", None, (256,)),
    ("generator_mlp_gamma", None, (256,)),
    ("generator_mlp_beta", None, (256,)),
    *[(f"generator_adalin{index}_1_adalin", None, (64, 64, 256)) for index in range(1, 5)],
    *[(f"generator_adalin{index}_add", None, (64, 64, 256)) for index in range(1, 5)],
    ("generator_up1", None, (128, 128, 128)),
    ("generator_up2", None, (256, 256, 64)),
    ("generator_head", None, (256, 256, 3)),
    ("generator_tanh", None, (256, 256, 3)),
]

GLOBAL_TABLE = [
    ("discriminator_conv1_sn", None, (128, 128, 64)),
    ("discriminator_conv2_sn", None, (64, 64, 128)),
    ("discriminator_conv3_sn", None, (32, 32, 256)),
    ("discriminator_conv4_sn", None, (16, 16, 512)),
    ("discriminator_conv5_sn", None, (8, 8, 1024)),
    ("discriminator_conv6_pad", None, (10, 10, 1024)),
    ("discriminator_conv6_sn", None, (7, 7, 2048)),
    ("discriminator_cam", 0, (7, 7, 4096)),
    ("discriminator_cam", 1, (2,)),
    ("discriminator_cam_conv1x1", None, (7, 7, 2048)),
    ("discriminator_heatmap", None, (7, 7, 1)),
    ("discriminator_logits_pad", None, (9, 9, 2048)),
    ("discriminator_logits_sn", None, (6, 6, 1)),
    ("discriminator_logits_float32", None, (6, 6, 1)),
]

LOCAL_TABLE = [
    ("discriminator_conv1_sn", None, (128, 128, 64)),
    ("discriminator_conv2_sn", None, (64, 64, 128)),
    ("discriminator_conv3_sn", None, (32, 32, 256)),
    ("discriminator_conv4_sn", None, (31, 31, 512)),
    ("discriminator_cam", 0, (31, 31, 1024)),
    ("discriminator_cam", 1, (2,)),
    ("discriminator_cam_conv1x1", None, (31, 31, 512)),
    ("discriminator_heatmap", None, (31, 31, 1)),
    ("discriminator_logits_sn", None, (30, 30, 1)),
    ("discriminator_logits_float32", None, (30, 30, 1)),
]


def output_shape(model: keras.Model, layer: str, index: int | None) -> tuple:
    output = model.get_layer(layer).output
    return tuple((output if index is None else output[index]).shape[1:])


def table_id(row) -> str:
    layer, index, _ = row
    return layer if index is None else f"{layer}[{index}]"


@pytest.mark.parametrize("layer, index, shape", GENERATOR_TABLE, ids=[table_id(row) for row in GENERATOR_TABLE])
def test_full_generator_layer_output_shape_at_256_px(full_generator_256, layer, index, shape):
    assert output_shape(full_generator_256, layer, index) == shape


def test_light_generator_mlp_sees_the_pooled_bottleneck(light_generator_256):
    assert output_shape(light_generator_256, "generator_mlp_gap", None) == (256,)
    assert tuple(light_generator_256.get_layer("generator_mlp_fc1").kernel.shape) == (256, 256)


@pytest.mark.parametrize("which", ["light", "full"])
def test_generator_outputs_image_cam_logits_and_heatmap(request, which):
    generator = request.getfixturevalue(f"{which}_generator_256")
    assert [tuple(output.shape[1:]) for output in generator.outputs] == [(256, 256, 3), (2,), (64, 64, 1)]


@pytest.mark.parametrize("layer, index, shape", GLOBAL_TABLE, ids=[table_id(row) for row in GLOBAL_TABLE])
def test_global_discriminator_layer_output_shape_at_256_px(global_discriminator_256, layer, index, shape):
    assert output_shape(global_discriminator_256, layer, index) == shape


@pytest.mark.parametrize("layer, index, shape", LOCAL_TABLE, ids=[table_id(row) for row in LOCAL_TABLE])
def test_local_discriminator_layer_output_shape_at_256_px(local_discriminator_256, layer, index, shape):
    assert output_shape(local_discriminator_256, layer, index) == shape


@pytest.mark.parametrize(
    "which, logits, heatmap",
    [("global", (6, 6, 1), (7, 7, 1)), ("local", (30, 30, 1), (31, 31, 1))],
)
def test_discriminator_outputs_logits_cam_logits_and_heatmap(request, which, logits, heatmap):
    discriminator = request.getfixturevalue(f"{which}_discriminator_256")
    assert [tuple(output.shape[1:]) for output in discriminator.outputs] == [logits, (2,), heatmap]


# --- AdaLIN and ILN against the reference's forward, in NumPy ---


def pytorch_layer_instance_mix(x, rho, epsilon=1e-5):
    """adaILN/ILN before γ, β, as the reference computes it: NCHW, torch.var's UNBIASED variance, in float64."""
    x = np.transpose(x.astype(np.float64), (0, 3, 1, 2))
    in_mean, in_var = x.mean(axis=(2, 3), keepdims=True), x.var(axis=(2, 3), ddof=1, keepdims=True)
    out_in = (x - in_mean) / np.sqrt(in_var + epsilon)
    ln_mean, ln_var = x.mean(axis=(1, 2, 3), keepdims=True), x.var(axis=(1, 2, 3), ddof=1, keepdims=True)
    out_ln = (x - ln_mean) / np.sqrt(ln_var + epsilon)
    rho = rho.astype(np.float64).reshape(1, -1, 1, 1)
    return rho * out_in + (1 - rho) * out_ln


def pytorch_adailn(x, rho, gamma, beta):
    """x NHWC, ρ [C], γ and β [B, C] (the MLP's): adaILN.forward, back to NHWC."""
    out = pytorch_layer_instance_mix(x, rho) * gamma[:, :, None, None] + beta[:, :, None, None]
    return np.transpose(out, (0, 2, 3, 1))


def pytorch_iln(x, rho, gamma, beta):
    """x NHWC, ρ, γ, β [C] (learned): ILN.forward, back to NHWC."""
    out = pytorch_layer_instance_mix(x, rho) * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)
    return np.transpose(out, (0, 2, 3, 1))


CHANNELS = 5


def feature_maps(seed: int = 3, shape=(2, 6, 7, CHANNELS)) -> np.ndarray:
    """Channels with their own means and scales, so instance and layer statistics differ."""
    rng = np.random.default_rng(seed)
    scales, shifts = rng.uniform(0.5, 3.0, shape[-1]), rng.uniform(-2.0, 2.0, shape[-1])
    return (rng.normal(size=shape) * scales + shifts).astype(np.float32)


def nontrivial_rho() -> np.ndarray:
    return np.linspace(0.0, 1.0, CHANNELS).astype(np.float32)  # pure layer norm ... pure instance norm


def mlp_gamma_beta(seed: int = 4, batch: int = 2):
    rng = np.random.default_rng(seed)
    return rng.normal(1.0, 0.5, (batch, CHANNELS)).astype(np.float32), rng.normal(size=(batch, CHANNELS)).astype(
        np.float32
    )


def built_adalin(rho=None, **kwargs):
    layer = networks.AdaptiveLayerInstanceNormalization(**kwargs)
    layer.build([(None, None, None, CHANNELS), (None, CHANNELS), (None, CHANNELS)])
    if rho is not None:
        layer.rho.assign(rho)
    return layer


def built_iln(rho=None, gamma=None, beta=None, **kwargs):
    layer = networks.LayerInstanceNormalization(**kwargs)
    layer.build((None, None, None, CHANNELS))
    for weight, value in ((layer.rho, rho), (layer.gamma, gamma), (layer.beta, beta)):
        if value is not None:
            weight.assign(value)
    return layer


def test_adalin_starts_with_rho_09_and_learns_only_rho():
    layer = built_adalin()
    assert [weight.name for weight in layer.trainable_weights] == ["rho"]
    np.testing.assert_array_equal(numpy(layer.rho), np.full(CHANNELS, 0.9, np.float32))


def test_iln_starts_with_rho_0_gamma_1_beta_0():
    layer = built_iln()
    assert sorted(weight.name for weight in layer.trainable_weights) == ["beta", "gamma", "rho"]
    np.testing.assert_array_equal(numpy(layer.rho), np.zeros(CHANNELS, np.float32))
    np.testing.assert_array_equal(numpy(layer.gamma), np.ones(CHANNELS, np.float32))
    np.testing.assert_array_equal(numpy(layer.beta), np.zeros(CHANNELS, np.float32))


def test_adalin_matches_the_pytorch_forward():
    x, rho = feature_maps(), nontrivial_rho()
    gamma, beta = mlp_gamma_beta()
    out = numpy(built_adalin(rho)([x, gamma, beta]))
    np.testing.assert_allclose(out, pytorch_adailn(x, rho, gamma, beta), rtol=1e-5, atol=1e-5)


def test_adalin_at_its_initial_rho_matches_the_pytorch_forward():
    x = feature_maps(seed=5)
    gamma, beta = mlp_gamma_beta(seed=6)
    out = numpy(built_adalin()([x, gamma, beta]))
    expected = pytorch_adailn(x, np.full(CHANNELS, 0.9), gamma, beta)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_iln_matches_the_pytorch_forward():
    rng = np.random.default_rng(7)
    x, rho = feature_maps(seed=8), nontrivial_rho()[::-1].copy()
    gamma, beta = rng.normal(1.0, 0.5, CHANNELS).astype(np.float32), rng.normal(size=CHANNELS).astype(np.float32)
    out = numpy(built_iln(rho, gamma, beta)(x))
    np.testing.assert_allclose(out, pytorch_iln(x, rho, gamma, beta), rtol=1e-5, atol=1e-5)


def test_normalisations_use_the_unbiased_variance():
    """ρ = 1, γ = 1, β = 0: the output's per-channel variance with ddof=1 is 1 (with ddof=0 it is (n-1)/n)."""
    x = feature_maps(seed=9, shape=(1, 3, 3, CHANNELS))  # 9 pixels: biased and unbiased differ by 11%
    out = numpy(built_iln(rho=np.ones(CHANNELS, np.float32))(x)).astype(np.float64)
    np.testing.assert_allclose(out.var(axis=(1, 2), ddof=1), 1.0, rtol=1e-3)


@pytest.mark.parametrize("build", [built_adalin, built_iln], ids=["adalin", "iln"])
def test_rho_is_clipped_to_zero_one(build):
    layer = build()
    assert isinstance(layer.rho.constraint, ClipConstraint)
    assert (layer.rho.constraint.min_value, layer.rho.constraint.max_value) == (0.0, 1.0)
    values = np.array([-0.5, 0.0, 0.3, 1.0, 1.7], np.float32)
    np.testing.assert_array_equal(numpy(layer.rho.constraint(values)), np.float32([0.0, 0.0, 0.3, 1.0, 1.0]))


@pytest.mark.parametrize("build", [built_adalin, built_iln], ids=["adalin", "iln"])
def test_an_optimizer_step_leaves_rho_in_zero_one(build):
    """Keras applies a variable's constraint after each update: a step of +-2 lands at 0 or 1."""
    layer = build(rho=np.full(CHANNELS, 0.5, np.float32))
    gradient = np.array([-2.0, 2.0, -2.0, 2.0, 0.0], np.float32)  # SGD(lr 1): ρ - gradient
    optimizer = keras.optimizers.SGD(learning_rate=1.0)
    optimizer.apply([gradient], [layer.rho])
    np.testing.assert_array_equal(numpy(layer.rho), [1.0, 0.0, 1.0, 0.0, 0.5])


def test_iln_gamma_and_beta_are_not_clipped():
    layer = built_iln()
    assert layer.gamma.constraint is None and layer.beta.constraint is None


def test_generator_normalisations_start_at_the_reference_values():
    generator = small_generator()
    every_layer = [
        inner
        for layer in generator.layers
        for inner in (layer.stage_layers if isinstance(layer, RematerializedSequence) else [layer])
    ]
    adalins = [layer for layer in every_layer if isinstance(layer, networks.AdaptiveLayerInstanceNormalization)]
    ilns = [layer for layer in every_layer if isinstance(layer, networks.LayerInstanceNormalization)]
    assert len(adalins) == 2 * networks.RESIDUAL_BLOCKS and len(ilns) == networks.DOWNSAMPLINGS
    for layer in adalins:
        np.testing.assert_array_equal(numpy(layer.rho), np.float32(0.9))
    for layer in ilns:
        np.testing.assert_array_equal(numpy(layer.rho), 0.0)
        np.testing.assert_array_equal(numpy(layer.gamma), 1.0)


@pytest.mark.parametrize("which", ["adalin", "iln"])
def test_bfloat16_inputs_follow_the_compute_dtype_and_stay_close_to_float32(which):
    x = feature_maps(seed=10)
    gamma, beta = mlp_gamma_beta(seed=11)
    rho = nontrivial_rho()
    if which == "adalin":
        reference = numpy(built_adalin(rho)([x, gamma, beta]))
        layer = built_adalin(rho, dtype="mixed_bfloat16")
        out = layer(
            [keras.ops.cast(x, "bfloat16"), keras.ops.cast(gamma, "bfloat16"), keras.ops.cast(beta, "bfloat16")]
        )
    else:
        reference = numpy(built_iln(rho, gamma[0], beta[0])(x))
        layer = built_iln(rho, gamma[0], beta[0], dtype="mixed_bfloat16")
        out = layer(keras.ops.cast(x, "bfloat16"))
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
    assert dtype_of(out) == "bfloat16"
    # bfloat16 keeps 8 significant bits: inputs, ρ, γ, β and the output each round by <= 2^-9 relative.
    np.testing.assert_allclose(numpy(keras.ops.cast(out, "float32")), reference, rtol=2e-2, atol=2e-2)


# --- the class activation map ---

CAM_SHAPE = (2, 4, 5, 6)


def cam_layer(spectral_norm: bool, seed: int = 12) -> networks.ClassActivationMap:
    """A built CAM whose Dense kernels are N(0, 1): far from unit norm, so normalisation shows."""
    rng = np.random.default_rng(seed)
    layer = networks.ClassActivationMap(spectral_norm=spectral_norm)
    layer.build(CAM_SHAPE)
    for pooling in ("gap", "gmp"):
        cam_kernel(layer, pooling).assign(rng.normal(size=(CAM_SHAPE[-1], 1)).astype(np.float32))
    return layer


def cam_kernel(layer: networks.ClassActivationMap, pooling: str):
    dense = layer.pooled_dense[pooling]
    return dense.layer.kernel if isinstance(dense, keras.layers.SpectralNormalization) else dense.kernel


def numpy_cam(x, gap_kernel, gmp_kernel):
    """The reference's CAM branch: logits Dense(GAP(x)), Dense(GMP(x)); maps x * w per channel, GAP first."""
    x = x.astype(np.float64)
    gap_kernel, gmp_kernel = gap_kernel.astype(np.float64)[:, 0], gmp_kernel.astype(np.float64)[:, 0]
    logits = np.stack([x.mean(axis=(1, 2)) @ gap_kernel, x.max(axis=(1, 2)) @ gmp_kernel], axis=-1)
    maps = np.concatenate([x * gap_kernel, x * gmp_kernel], axis=-1)
    return maps, logits


def cam_input(seed: int = 13) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=CAM_SHAPE).astype(np.float32)


def test_cam_logits_and_maps_match_numpy():
    layer, x = cam_layer(spectral_norm=False), cam_input()
    maps, logits = layer(x)
    expected_maps, expected_logits = numpy_cam(x, numpy(cam_kernel(layer, "gap")), numpy(cam_kernel(layer, "gmp")))
    assert tuple(maps.shape) == (2, 4, 5, 12) and tuple(logits.shape) == (2, 2)
    np.testing.assert_allclose(numpy(logits), expected_logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(numpy(maps), expected_maps, rtol=1e-6, atol=1e-6)


def test_cam_dense_layers_have_no_bias_and_distinct_kernels():
    layer = networks.ClassActivationMap()
    layer.build(CAM_SHAPE)
    assert [tuple(weight.shape) for weight in layer.trainable_weights] == [(6, 1), (6, 1)]
    assert not np.array_equal(numpy(cam_kernel(layer, "gap")), numpy(cam_kernel(layer, "gmp")))


def test_spectral_cam_uses_the_normalised_kernel_when_training():
    layer, x = cam_layer(spectral_norm=True), cam_input()
    before = {pooling: numpy(cam_kernel(layer, pooling)) for pooling in ("gap", "gmp")}
    assert all(largest_singular_value(kernel) > 1.5 for kernel in before.values())

    for _ in range(3):
        maps, logits = layer(x, training=True)

    after = {pooling: numpy(cam_kernel(layer, pooling)) for pooling in ("gap", "gmp")}
    for pooling in ("gap", "gmp"):
        # A Dense(1) kernel is a vector: power iteration is exact, σ = its norm, after the first call.
        assert largest_singular_value(after[pooling]) == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(after[pooling], before[pooling] / np.linalg.norm(before[pooling]), rtol=1e-5)
    expected_maps, expected_logits = numpy_cam(x, after["gap"], after["gmp"])
    np.testing.assert_allclose(numpy(logits), expected_logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(numpy(maps), expected_maps, rtol=1e-5, atol=1e-6)


def test_spectral_cam_leaves_the_kernel_alone_outside_training():
    layer, x = cam_layer(spectral_norm=True), cam_input()
    before = numpy(cam_kernel(layer, "gap"))
    _, logits = layer(x, training=False)
    np.testing.assert_array_equal(numpy(cam_kernel(layer, "gap")), before)
    np.testing.assert_allclose(numpy(logits), numpy_cam(x, before, numpy(cam_kernel(layer, "gmp")))[1], rtol=1e-5)


def test_every_discriminator_conv_but_the_cam_1x1_and_both_cam_dense_carry_spectral_norm():
    discriminator = small_discriminator()
    wrapped = spectral_layers(discriminator)
    wrapped_convs = [layer.layer for layer in wrapped if isinstance(layer.layer, keras.layers.Conv2D)]
    wrapped_dense = [layer.layer for layer in wrapped if isinstance(layer.layer, keras.layers.Dense)]
    bare_convs = [layer.name for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D)]
    # conv1-6 and the logits conv, all 4x4.
    assert len(wrapped_convs) == networks.GLOBAL_DISCRIMINATOR_LAYERS
    assert all(tuple(conv.kernel_size) == (4, 4) for conv in wrapped_convs)
    assert len(wrapped_dense) == 2
    assert bare_convs == ["discriminator_cam_conv1x1"]
    assert discriminator.get_layer("discriminator_cam").spectral_norm


def test_generator_has_no_spectral_norm():
    generator = small_generator()
    assert spectral_layers(generator) == []
    assert not generator.get_layer("generator_cam").spectral_norm
    assert all(
        isinstance(dense, keras.layers.Dense) for dense in generator.get_layer("generator_cam").pooled_dense.values()
    )


def test_training_calls_bring_every_discriminator_kernel_to_unit_spectral_norm():
    """Each training call divides a kernel by its power-iteration σ (<= the true one), in place: the largest
    singular value goes from wherever N(0, 0.02) put it to >= 1 at the first call, then falls towards 1."""
    keras.utils.set_random_seed(0)
    n_layers = networks.LOCAL_DISCRIMINATOR_LAYERS
    size = networks.smallest_discriminator_input(n_layers)
    discriminator, images = small_discriminator(n_layers, size=size), random_images(size, n=1)
    kernels = [layer.layer.kernel for layer in spectral_layers(discriminator)]
    assert len(kernels) == n_layers + 2  # conv1-4, the CAM's two Dense, the logits conv
    initial = [largest_singular_value(kernel) for kernel in kernels]
    discriminator(images, training=True)
    first = [largest_singular_value(kernel) for kernel in kernels]
    for _ in range(9):
        discriminator(images, training=True)
    tenth = [largest_singular_value(kernel) for kernel in kernels]

    assert all(abs(value - 1.0) > 0.1 for value in initial)
    assert all(value >= 1.0 - 1e-4 for value in first + tenth)
    assert all(later <= earlier + 1e-4 for earlier, later in zip(first, tenth))
    assert max(tenth) < 1.2  # 1.12 at most with this seed; 1.25-1.36 after the first call


def test_discriminator_kernels_are_not_normalised_outside_training():
    discriminator = small_discriminator()
    kernel = discriminator.get_layer("discriminator_conv2_sn").layer.kernel
    before = numpy(kernel)
    discriminator(random_images(n=1))
    np.testing.assert_array_equal(numpy(kernel), before)


def test_generator_heatmap_is_the_channel_sum_of_the_cam_features():
    generator = small_generator()
    probe = keras.Model(generator.input, [generator.get_layer("generator_cam_relu").output, generator.outputs[2]])
    features, heatmap = (numpy(tensor) for tensor in probe(random_images()))
    np.testing.assert_allclose(heatmap, features.sum(axis=-1, keepdims=True), rtol=1e-5, atol=1e-5)


def test_generator_image_is_in_minus_one_one():
    image = numpy(small_generator()(100.0 * random_images())[0])
    assert image.dtype == np.float32 and image.min() >= -1.0 and image.max() <= 1.0


# --- sizes ---


def test_smallest_discriminator_inputs():
    assert networks.smallest_discriminator_input(networks.GLOBAL_DISCRIMINATOR_LAYERS) == 96
    assert networks.smallest_discriminator_input(networks.LOCAL_DISCRIMINATOR_LAYERS) == 24


@pytest.mark.parametrize("n_layers", [networks.GLOBAL_DISCRIMINATOR_LAYERS, networks.LOCAL_DISCRIMINATOR_LAYERS])
def test_discriminator_rejects_an_image_below_its_smallest_input(n_layers):
    smallest = networks.smallest_discriminator_input(n_layers)
    with pytest.raises(ValueError, match=f"at least {smallest} px"):
        small_discriminator(n_layers, size=smallest - 1)


@pytest.mark.parametrize("n_layers", [networks.GLOBAL_DISCRIMINATOR_LAYERS, networks.LOCAL_DISCRIMINATOR_LAYERS])
def test_discriminator_at_its_smallest_input_has_a_1x1_patch_map(n_layers):
    smallest = networks.smallest_discriminator_input(n_layers)
    discriminator = small_discriminator(n_layers, size=smallest)
    logits, cam_logits, heatmap = discriminator(random_images(smallest))
    assert tuple(logits.shape) == (2, 1, 1, 1)
    assert tuple(cam_logits.shape) == (2, 2)
    assert tuple(heatmap.shape) == (2, 2, 2, 1)


def test_discriminator_rejects_fewer_than_4_layers():
    with pytest.raises(ValueError, match="n_layers >= 4"):
        networks.ugatit_discriminator(SMALL, n_layers=3, filters=SMALL_FILTERS)


@pytest.mark.parametrize("image_size", [98, 97, 90])
def test_generator_rejects_an_image_size_not_divisible_by_4(image_size):
    with pytest.raises(ValueError, match="divisible by 4"):
        networks.ugatit_generator(image_size, light=True, filters=SMALL_FILTERS)


# --- saving, mixed precision, widths ---


@pytest.mark.parametrize("build", [small_generator, small_discriminator], ids=["generator", "discriminator"])
def test_keras_file_round_trip_gives_identical_outputs(tmp_path, build):
    network = build()
    images = random_images()
    path = tmp_path / f"{network.name}.keras"
    network.save(path)

    restored = keras.saving.load_model(path)

    custom = (networks.ClassActivationMap, networks.ChannelSum)
    assert {type(layer) for layer in restored.layers if isinstance(layer, custom)} == set(custom)
    for restored_output, output in zip(restored(images), network(images), strict=True):
        np.testing.assert_array_equal(numpy(restored_output), numpy(output))


def test_keras_file_round_trip_keeps_the_normalisations(tmp_path):
    generator = small_generator()
    adalin = generator.get_layer("generator_adalin1_1_adalin")
    adalin.rho.assign(np.linspace(0.0, 1.0, adalin.rho.shape[0]).astype(np.float32))
    path = tmp_path / "generator.keras"
    generator.save(path)

    restored = keras.saving.load_model(path)

    restored_adalin = restored.get_layer("generator_adalin1_1_adalin")
    assert isinstance(restored_adalin, networks.AdaptiveLayerInstanceNormalization)
    up1_layers = restored.get_layer("generator_up1").stage_layers
    assert [type(layer) for layer in up1_layers if isinstance(layer, networks.LayerInstanceNormalization)] == [
        networks.LayerInstanceNormalization
    ]
    assert isinstance(restored_adalin.rho.constraint, ClipConstraint)
    np.testing.assert_array_equal(numpy(restored_adalin.rho), numpy(adalin.rho))


@pytest.mark.parametrize(
    "build, hidden_layer",
    [(small_generator, "generator_block1_1_conv"), (small_discriminator, "discriminator_conv2_sn")],
    ids=["generator", "discriminator"],
)
def test_mixed_bfloat16_networks_output_float32(mixed_bfloat16, build, hidden_layer):
    network = build()
    outputs = network(random_images(), training=True)
    assert network.get_layer(hidden_layer).compute_dtype == "bfloat16"  # the policy is in force
    assert [dtype_of(output) for output in outputs] == ["float32"] * 3  # image or logits, CAM logits, heatmap
    assert all(np.all(np.isfinite(numpy(output))) for output in outputs)


def test_under_mixed_precision_the_mlp_and_the_adalin_gains_stay_float32(mixed_bfloat16):
    """Full mode's 268M-weight MLP kernel is never cast to 16 bits, and γ, β reach AdaLIN unrounded."""
    generator = small_generator(light=False)
    images = random_images()
    mlp_layers = [layer for layer in generator.layers if "_mlp_" in layer.name and "flatten" not in layer.name]
    assert {layer.name.split("_mlp_")[1] for layer in mlp_layers} == {
        "fc1",
        "fc1_relu",
        "fc2",
        "fc2_relu",
        "gamma",
        "beta",
    }
    assert {layer.compute_dtype for layer in mlp_layers} == {"float32"}
    gamma = keras.Model(generator.input, generator.get_layer("generator_mlp_gamma").output)(images)
    assert dtype_of(gamma) == "float32"
    # The gains are not bfloat16 values in float32 clothing: most have bits below bfloat16's 8 significant ones.
    rounded = numpy(keras.ops.cast(keras.ops.cast(gamma, "bfloat16"), "float32"))
    assert np.mean(rounded != numpy(gamma)) > 0.9
    assert generator.get_layer("generator_adalin1_1_adalin").compute_dtype == "bfloat16"  # the policy is in force


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_training_call_keeps_float32_discriminator_kernels(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        discriminator = small_discriminator()
    finally:
        keras.config.set_dtype_policy(previous)
    kernels = {layer.name: layer.layer.kernel for layer in spectral_layers(discriminator)}
    assert all(kernel.dtype == "float32" for kernel in kernels.values())
    compute_dtype = policy.removeprefix("mixed_")

    discriminator(random_images(), training=True)

    def representable(kernel) -> bool:
        return np.array_equal(numpy(kernel), numpy(keras.ops.cast(keras.ops.cast(kernel, compute_dtype), "float32")))

    # A float32 kernel divided by σ has (almost) no element exactly representable in 8 or 11 significant bits.
    assert [name for name, kernel in kernels.items() if representable(kernel)] == []


@pytest.mark.parametrize("light", [True, False], ids=["light", "full"])
def test_filters_scale_the_generator_widths(light):
    generator = small_generator(light)
    assert tuple(generator.get_layer("generator_stem").output.shape[1:]) == (SMALL, SMALL, SMALL_FILTERS)
    assert generator.get_layer("generator_down2").output.shape[-1] == 4 * SMALL_FILTERS
    assert generator.count_params() == memory.generator_parameters(SMALL, light, SMALL_FILTERS)


def test_the_full_generators_large_map_stages_are_recomputed_in_the_backward_pass(
    light_generator_256, full_generator_256
):
    """Stem, downsamplings, upsamplings and head keep only their inputs and outputs in full mode
    (RematerializedSequence); light mode, not short of memory, keeps their maps. The 64x64 residual and AdaLIN
    blocks, whose convolutions are most of the FLOPs, keep their maps in both."""
    stages = [f"generator_{stage}" for stage in ("stem", "down1", "down2", "up1", "up2", "head")]
    for generator, rematerialized in ((full_generator_256, True), (light_generator_256, False)):
        sequences = [layer for layer in generator.layers if isinstance(layer, RematerializedSequence)]
        assert [layer.name for layer in sequences] == stages
        assert {layer.rematerialize for layer in sequences} == {rematerialized}
