"""stargan_v2.wing: the FAN of the official core/wing.py, its parameter count, weights from a torch state_dict,
and the heatmap-to-mask steps of `FAN.get_heatmap` / `preprocess` against NumPy (and torch when installed).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from stargan_v2 import wing, wing_masks
from stargan_v2.wing_layers import AddCoords, FrozenBatchNormalization, coordinate_channels

# ---------------------------------------------------------------- the official module tree, spelt out


def _batch_norm_shapes(prefix: str, channels: int) -> dict:
    shapes = {f"{prefix}.{n}": (channels,) for n in ("weight", "bias", "running_mean", "running_var")}
    return {**shapes, f"{prefix}.num_batches_tracked": ()}


def _conv_block_shapes(prefix: str, in_planes: int, out_planes: int) -> dict:
    half, quarter = out_planes // 2, out_planes // 4
    shapes = {
        **_batch_norm_shapes(f"{prefix}.bn1", in_planes),
        f"{prefix}.conv1.weight": (half, in_planes, 3, 3),
        **_batch_norm_shapes(f"{prefix}.bn2", half),
        f"{prefix}.conv2.weight": (quarter, half, 3, 3),
        **_batch_norm_shapes(f"{prefix}.bn3", quarter),
        f"{prefix}.conv3.weight": (quarter, quarter, 3, 3),
    }
    if in_planes != out_planes:
        shapes.update(_batch_norm_shapes(f"{prefix}.downsample.0", in_planes))
        shapes[f"{prefix}.downsample.2.weight"] = (out_planes, in_planes, 1, 1)
    return shapes


def official_state_dict_shapes() -> dict:
    """FAN(num_modules=1, end_relu=False, num_landmarks=98).state_dict() shapes, from core/wing.py's modules."""
    shapes = {"conv1.conv.weight": (64, 6, 7, 7), "conv1.conv.bias": (64,), **_batch_norm_shapes("bn1", 64)}
    shapes.update(_conv_block_shapes("conv2", 64, 128))
    shapes.update(_conv_block_shapes("conv3", 128, 128))
    shapes.update(_conv_block_shapes("conv4", 128, 256))
    shapes.update({"m0.coordconv.conv.weight": (256, 259, 1, 1), "m0.coordconv.conv.bias": (256,)})
    for level in (4, 3, 2, 1):
        for block in ("b1", "b2", "b3") + (("b2_plus",) if level == 1 else ()):
            shapes.update(_conv_block_shapes(f"m0.{block}_{level}", 256, 256))
    shapes.update(_conv_block_shapes("top_m_0", 256, 256))
    shapes.update({"conv_last0.weight": (256, 256, 1, 1), "conv_last0.bias": (256,)})
    shapes.update(_batch_norm_shapes("bn_end0", 256))
    shapes.update({"l0.weight": (99, 256, 1, 1), "l0.bias": (99,)})
    return shapes


def random_state_dict(seed: int, shapes: dict | None = None) -> dict:
    """Random arrays of the official names and shapes, scaled so activations stay O(1) through the FAN."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, shape in (shapes or official_state_dict_shapes()).items():
        if name.endswith("num_batches_tracked"):
            state[name] = np.array(0, np.int64)
        elif len(shape) == 4:
            state[name] = rng.normal(0, 1 / np.sqrt(np.prod(shape[1:])), shape).astype(np.float32)
        elif name.endswith(("running_var", ".weight")):  # BatchNorm variances and gammas
            state[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:  # biases, BatchNorm betas and means
            state[name] = rng.normal(0, 0.1, shape).astype(np.float32)
    return state


@pytest.fixture(scope="module")
def official_weights() -> dict:
    return random_state_dict(seed=0)


@pytest.fixture(scope="module")
def loaded_fan(official_weights) -> keras.Model:
    fan = wing.build_fan()
    # wing.ckpt holds names the one-module FAN lacks; the official load skips them.
    wing.load_torch_fan(fan, {**official_weights, "m1.coordconv.conv.weight": np.zeros((1,), np.float32)})
    return fan


# ---------------------------------------------------------------- the network


def _conv_block_parameters(in_planes: int, out_planes: int) -> int:
    half, quarter = out_planes // 2, out_planes // 4
    batch_norms = 2 * (in_planes + half + quarter)  # bn1, bn2, bn3: weight and bias per channel
    convs = 9 * (in_planes * half + half * quarter + quarter * quarter)  # conv1..3, 3x3, no bias
    downsample = 2 * in_planes + in_planes * out_planes if in_planes != out_planes else 0  # BN + conv1x1
    return batch_norms + convs + downsample


def test_parameter_count_is_the_official_layer_shapes_sum(loaded_fan):
    assert _conv_block_parameters(64, 128) == 73_152
    assert _conv_block_parameters(128, 128) == 101_824
    assert _conv_block_parameters(128, 256) == 291_712
    assert _conv_block_parameters(256, 256) == 406_400
    official = sum(
        [
            7 * 7 * (3 + 3) * 64 + 64,  # conv1: CoordConvTh 7x7, 3 colours + x, y, r -> 64, bias: 18,880
            2 * 64,  # bn1
            73_152 + 101_824 + 291_712,  # conv2 (64 -> 128), conv3 (128), conv4 (128 -> 256)
            (256 + 3) * 256 + 256,  # m0.coordconv: 1x1, 256 + x, y, r -> 256, bias (no boundary channels)
            13 * 406_400,  # m0: b1, b2, b3 at 4 levels and b2_plus_1, ConvBlock(256, 256) each
            406_400,  # top_m_0
            256 * 256 + 256,  # conv_last0
            2 * 256,  # bn_end0
            256 * 99 + 99,  # l0: 98 landmarks + 1 boundary map
        ]
    )
    assert official == wing.FAN_PARAMETERS == 6_333_603
    state_shapes = official_state_dict_shapes()
    parameter_names = [n for n in state_shapes if not n.endswith(("running_mean", "running_var", "tracked"))]
    assert sum(int(np.prod(state_shapes[n])) for n in parameter_names) == wing.FAN_PARAMETERS
    statistics = sum(int(np.prod(s)) for n, s in state_shapes.items() if n.endswith(("running_mean", "running_var")))
    assert statistics == wing.FAN_BATCH_NORM_STATISTICS == 2 * 7_488
    assert loaded_fan.count_params() == wing.FAN_PARAMETERS + wing.FAN_BATCH_NORM_STATISTICS
    assert not loaded_fan.trainable_weights


def test_heatmap_shape_and_batch_norm_in_inference_mode(loaded_fan):
    images = np.random.default_rng(1).uniform(0, 1, (1, 256, 256, 3)).astype(np.float32)
    heatmaps = loaded_fan(images, training=False)
    assert heatmaps.shape == (1, 64, 64, 99)
    # training=True must not switch any BatchNorm to batch statistics (the official FAN is .eval()).
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded_fan(images, training=True)), heatmaps)


def test_coordinate_channels_are_the_official_ones():
    channels = coordinate_channels(4, 6, with_r=True)
    rows, columns = np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-1, 1, 6), indexing="ij")
    np.testing.assert_allclose(channels[..., 0], rows, atol=1e-7)
    np.testing.assert_allclose(channels[..., 1], columns, atol=1e-7)
    np.testing.assert_allclose(channels[..., 2], np.hypot(rows, columns) / np.sqrt(2), atol=1e-7)
    assert coordinate_channels(4, 6, with_r=False).shape == (4, 6, 2)


def _numpy_conv2d_oihw(x: np.ndarray, weight: np.ndarray, padding: int) -> np.ndarray:
    """torch's conv2d (cross-correlation, stride 1) on NHWC input with an OIHW kernel."""
    _, _, kh, kw = weight.shape
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    height, width = padded.shape[1] - kh + 1, padded.shape[2] - kw + 1
    out = np.zeros((x.shape[0], height, width, weight.shape[0]))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,oc->nhwo", padded[:, i : i + height, j : j + width], weight[:, :, i, j])
    return out


def test_load_torch_fan_fills_every_weight(official_weights):
    fan = wing.build_fan()
    before = [np.array(w) for w in fan.weights]
    wing.load_torch_fan(fan, official_weights)
    assert all(not np.array_equal(b, np.array(w)) for b, w in zip(before, fan.weights, strict=True))
    bn = fan.get_layer("m0.b2_plus_1.bn2")
    np.testing.assert_array_equal(bn.moving_variance, official_weights["m0.b2_plus_1.bn2.running_var"])
    np.testing.assert_array_equal(bn.gamma, official_weights["m0.b2_plus_1.bn2.weight"])
    assert bn.epsilon == 1e-5
    features = np.random.default_rng(2).normal(size=(1, 6, 5, 64)).astype(np.float32)
    conv = fan.get_layer("conv2.conv1")  # 3x3, 64 -> 64, padding 1, no bias
    expected = _numpy_conv2d_oihw(features, official_weights["conv2.conv1.weight"], padding=1)
    np.testing.assert_allclose(conv(features), expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(KeyError, match="l0.bias"):
        wing.load_torch_fan(fan, {n: v for n, v in official_weights.items() if n != "l0.bias"})


def test_keras_file_round_trip(loaded_fan, tmp_path):
    path = tmp_path / "fan.keras"
    loaded_fan.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded.get_layer("m0.coordconv.addcoords"), AddCoords)
    assert isinstance(reloaded.get_layer("bn_end0"), FrozenBatchNormalization)
    for original, restored in zip(loaded_fan.weights, reloaded.weights, strict=True):
        np.testing.assert_array_equal(original, restored)
    images = np.random.default_rng(3).uniform(0, 1, (1, 256, 256, 3)).astype(np.float32)
    np.testing.assert_allclose(reloaded(images, training=True), loaded_fan(images), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- heatmaps to masks, against NumPy


def numpy_align_corners_resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear NHWC resize sampling input position o * (in - 1) / (size - 1), pixel by pixel, float64."""
    out = np.zeros((x.shape[0], size, size, x.shape[3]))
    in_h, in_w = x.shape[1:3]
    for oy in range(size):
        sy = oy * (in_h - 1) / (size - 1)
        y0 = min(int(np.floor(sy)), in_h - 1)
        y1, wy = min(y0 + 1, in_h - 1), sy - y0
        for ox in range(size):
            sx = ox * (in_w - 1) / (size - 1)
            x0 = min(int(np.floor(sx)), in_w - 1)
            x1, wx = min(x0 + 1, in_w - 1), sx - x0
            top = (1 - wx) * x[:, y0, x0] + wx * x[:, y0, x1]
            bottom = (1 - wx) * x[:, y1, x0] + wx * x[:, y1, x1]
            out[:, oy, ox] = (1 - wy) * top + wy * bottom
    return out


@pytest.mark.parametrize("in_size,size", [(64, 256), (5, 13), (7, 3)])
def test_align_corners_resize_matches_numpy(in_size, size):
    x = np.random.default_rng(4).normal(size=(2, in_size, in_size, 3)).astype(np.float32)
    np.testing.assert_allclose(
        wing_masks.resize_align_corners(x, size), numpy_align_corners_resize(x, size), rtol=1e-5, atol=1e-5
    )


def official_shift(x: np.ndarray, n: int) -> np.ndarray:
    """core/wing.py's shift on NCHW: rows permuted by cat([head, tail])."""
    height = x.shape[2]
    if n >= 0:
        perm = np.concatenate([np.arange(height - n) + n, np.arange(n)])
    else:
        n = -n
        perm = np.concatenate([np.arange(n) + (height - n), np.arange(height - n)])
    return x[:, :, perm, :]


def official_normalize(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    flat = x.reshape(x.shape[0] * x.shape[1], -1)
    maximum, minimum = flat.max(axis=1, keepdims=True), flat.min(axis=1, keepdims=True)
    return ((flat - minimum) / (maximum - minimum + eps)).reshape(x.shape)


def official_truncate(x: np.ndarray, thres: float = 0.1) -> np.ndarray:
    return np.where(x < thres, 0, x)


INDEX_MAP = {
    "chin": (8, 25),
    "eyebrows": (33, 51),
    "eyebrowsedges": (33, 46),
    "nose": (51, 55),
    "nostrils": (55, 60),
    "eyes": (60, 76),
    "lipedges": (76, 82),
    "lipupper": (77, 82),
    "liplower": (83, 88),
    "lipinner": (88, 96),
}


def official_preprocess(x: np.ndarray):
    """core/wing.py's preprocess, line by line, on NCHW NumPy (its in-place slice assignments included)."""
    x = official_normalize(official_truncate(x.copy()))
    sw = x.shape[2] // 256
    operations = {
        "chin": (0, 3),
        "eyebrows": (-7 * sw, 2),
        "nostrils": (8 * sw, 4),
        "lipupper": (-8 * sw, 4),
        "liplower": (8 * sw, 4),
        "lipinner": (-2 * sw, 3),
    }
    for part, (shift, power) in operations.items():
        start, end = INDEX_MAP[part]
        x[:, start:end] = official_shift(x[:, start:end], shift) ** power
    zero_out = np.concatenate(
        [np.arange(0, 8), np.arange(25, 33), [INDEX_MAP["eyebrowsedges"][0], INDEX_MAP["eyebrowsedges"][1], 76, 82]]
    )
    x[:, zero_out] = 0
    start, end = INDEX_MAP["nose"]
    x[:, start + 1 : end] = official_shift(x[:, start + 1 : end], 4 * sw)
    x[:, start:end] = x[:, start:end] ** 1
    start, end = INDEX_MAP["eyes"]
    x[:, start:end] = official_shift(x[:, start:end], -8) ** 3 + official_shift(x[:, start:end], -24)
    x2 = x.copy()
    x2[:, 8:25] = 0
    x2[:, 76:96] = 0
    x2[:, 33:51] = 0
    x, x2 = x.sum(axis=1, keepdims=True), x2.sum(axis=1, keepdims=True)
    x[x != x] = 0
    x2[x != x] = 0
    return np.clip(x, 0, 1)[:, 0], np.clip(x2, 0, 1)[:, 0]


def random_heatmaps(batch: int = 2, size: int = 256, seed: int = 5) -> np.ndarray:
    """(N, size, size, 98) NHWC: one Gaussian peak per landmark (sigma 4 px, random place and height) plus
    noise, the kind of map the FAN gives."""
    rng = np.random.default_rng(seed)
    rows, columns = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    centres = rng.uniform(20, size - 20, (batch, 98, 2))
    heights = rng.uniform(0.3, 1.0, (batch, 98))
    heatmaps = np.zeros((batch, size, size, 98), np.float32)
    for n in range(batch):
        for c in range(98):
            squared = (rows - centres[n, c, 0]) ** 2 + (columns - centres[n, c, 1]) ** 2
            heatmaps[n, :, :, c] = heights[n, c] * np.exp(-squared / (2 * 4.0**2))
    return (heatmaps + rng.normal(0, 0.03, heatmaps.shape)).astype(np.float32)


@pytest.fixture(scope="module")
def heatmaps() -> np.ndarray:
    return random_heatmaps()


def _nchw(x):
    return np.transpose(np.asarray(x), (0, 3, 1, 2))


def test_truncate_normalize_shift_sharpen_match_the_official():
    heatmaps = random_heatmaps(size=64)
    nchw = _nchw(heatmaps)
    np.testing.assert_array_equal(_nchw(wing_masks.truncate(heatmaps)), official_truncate(nchw))
    np.testing.assert_allclose(_nchw(wing_masks.normalize(heatmaps)), official_normalize(nchw), atol=1e-6)
    for pixels in (8, -7, 0, -24, 64):
        np.testing.assert_array_equal(_nchw(wing_masks.shift_rows(heatmaps, pixels)), official_shift(nchw, pixels))
    np.testing.assert_allclose(_nchw(wing_masks.sharpen(heatmaps, 3)), nchw**3, rtol=1e-6, atol=1e-7)


def test_preprocess_matches_the_official(heatmaps):
    whole_face, inner_face = wing_masks.preprocess(heatmaps)
    expected_whole, expected_inner = official_preprocess(_nchw(heatmaps))
    np.testing.assert_allclose(whole_face, expected_whole, atol=1e-5)
    np.testing.assert_allclose(inner_face, expected_inner, atol=1e-5)
    # Masks, not all zero or all one, and the second-level mask within the first.
    assert 0.01 < np.mean((expected_inner > 0) & (expected_inner < 1)) < 0.99
    assert np.mean(expected_whole > expected_inner) > 0.01
    assert np.all(np.asarray(inner_face) <= np.asarray(whole_face))


def _stand_in_fan() -> keras.Model:
    """A cheap (N, 256, 256, 3) -> (N, 64, 64, 99) model in place of the FAN, for the mask plumbing."""
    images = keras.Input((256, 256, 3))
    pooled = keras.layers.AveragePooling2D(4)(images)
    return keras.Model(
        images, keras.layers.Conv2D(99, 1, kernel_initializer=keras.initializers.HeNormal(seed=6))(pooled)
    )


@pytest.mark.parametrize("image_size", [32, 256])
def test_heatmap_masks_are_the_preprocessed_heatmaps_without_gradient(image_size):
    fan = _stand_in_fan()
    images = tf.constant(np.random.default_rng(7).uniform(-1, 1, (2, image_size, image_size, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        masks = wing.heatmap_masks(fan, images, image_size)
        total = tf.reduce_sum(masks)
    assert masks.shape == (2, image_size, image_size, 2)
    assert tape.gradient(total, images) is None
    whole_face, inner_face = wing_masks.preprocess(wing_masks.landmark_heatmaps(fan, images))
    if image_size == 256:
        np.testing.assert_array_equal(masks[..., 0], whole_face)
        np.testing.assert_array_equal(masks[..., 1], inner_face)
    assert np.all((np.asarray(masks) >= 0) & (np.asarray(masks) <= 1))


# ---------------------------------------------------------------- against torch, when installed


def _torch_fan_modules():
    """A torch re-implementation of core/wing.py's FAN (the modules StarGAN v2 runs), the official names."""
    torch = pytest.importorskip("torch")
    nn, functional = torch.nn, torch.nn.functional

    class ConvBlock(nn.Module):
        def __init__(self, in_planes, out_planes):
            super().__init__()
            half, quarter = out_planes // 2, out_planes // 4
            self.bn1, self.conv1 = nn.BatchNorm2d(in_planes), nn.Conv2d(in_planes, half, 3, 1, 1, bias=False)
            self.bn2, self.conv2 = nn.BatchNorm2d(half), nn.Conv2d(half, quarter, 3, 1, 1, bias=False)
            self.bn3, self.conv3 = nn.BatchNorm2d(quarter), nn.Conv2d(quarter, quarter, 3, 1, 1, bias=False)
            self.downsample = None
            if in_planes != out_planes:
                self.downsample = nn.Sequential(
                    nn.BatchNorm2d(in_planes), nn.ReLU(), nn.Conv2d(in_planes, out_planes, 1, 1, bias=False)
                )

        def forward(self, x):
            out1 = self.conv1(functional.relu(self.bn1(x)))
            out2 = self.conv2(functional.relu(self.bn2(out1)))
            out3 = self.conv3(functional.relu(self.bn3(out2)))
            residual = x if self.downsample is None else self.downsample(x)
            return torch.cat((out1, out2, out3), 1) + residual

    class CoordConv(nn.Module):
        def __init__(self, size, in_channels, out_channels, kernel_size, stride, padding):
            super().__init__()
            rows = torch.arange(size).unsqueeze(1).expand(size, size).float() / (size - 1) * 2 - 1
            columns = torch.arange(size).unsqueeze(0).expand(size, size).float() / (size - 1) * 2 - 1
            radius = torch.sqrt(rows**2 + columns**2)
            self.coords = torch.stack([rows, columns, radius / radius.max()]).unsqueeze(0)
            self.conv = nn.Conv2d(in_channels + 3, out_channels, kernel_size, stride, padding)

        def forward(self, x):
            return self.conv(torch.cat([x, self.coords.repeat(x.size(0), 1, 1, 1)], 1))

    class HourGlass(nn.Module):
        def __init__(self):
            super().__init__()
            self.coordconv = CoordConv(64, 256, 256, 1, 1, 0)
            for level in (4, 3, 2, 1):
                for block in ("b1", "b2", "b3") + (("b2_plus",) if level == 1 else ()):
                    self.add_module(f"{block}_{level}", ConvBlock(256, 256))

        def level(self, level, x):
            lower = self._modules[f"b2_{level}"](functional.avg_pool2d(x, 2, stride=2))
            if level > 1:
                lower = self.level(level - 1, lower)
            else:
                lower = self._modules["b2_plus_1"](lower)
            lower = functional.interpolate(self._modules[f"b3_{level}"](lower), scale_factor=2, mode="nearest")
            return self._modules[f"b1_{level}"](x) + lower

        def forward(self, x):
            return self.level(4, self.coordconv(x))

    class FAN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = CoordConv(256, 3, 64, 7, 2, 3), nn.BatchNorm2d(64)
            self.conv2, self.conv3, self.conv4 = ConvBlock(64, 128), ConvBlock(128, 128), ConvBlock(128, 256)
            self.m0, self.top_m_0 = HourGlass(), ConvBlock(256, 256)
            self.conv_last0, self.bn_end0 = nn.Conv2d(256, 256, 1, 1, 0), nn.BatchNorm2d(256)
            self.l0 = nn.Conv2d(256, 99, 1, 1, 0)

        def forward(self, x):
            x = functional.avg_pool2d(self.conv2(functional.relu(self.bn1(self.conv1(x)))), 2, stride=2)
            x = self.top_m_0(self.m0(self.conv4(self.conv3(x))))
            return self.l0(functional.relu(self.bn_end0(self.conv_last0(x))))

    return torch, functional, ConvBlock, FAN


def _torch_state(torch, state: dict) -> dict:
    return {name: torch.from_numpy(np.asarray(value)) for name, value in state.items()}


def test_conv_block_matches_torch():
    torch, _, torch_conv_block, _ = _torch_fan_modules()
    state = random_state_dict(seed=8, shapes=_conv_block_shapes("conv2", 64, 128))
    block = torch_conv_block(64, 128).eval()
    block.load_state_dict(_torch_state(torch, {n.removeprefix("conv2."): v for n, v in state.items()}))
    inputs = keras.Input((8, 8, 64))
    keras_block = keras.Model(inputs, wing._conv_block(inputs, 128, "conv2"))
    wing.load_torch_fan(keras_block, state)
    features = np.random.default_rng(9).normal(size=(2, 8, 8, 64)).astype(np.float32)
    with torch.no_grad():
        expected = block(torch.from_numpy(_nchw(features).copy())).numpy()
    np.testing.assert_allclose(_nchw(keras_block(features)), expected, rtol=1e-4, atol=1e-4)


def test_fan_and_get_heatmap_resizes_match_torch(loaded_fan, official_weights):
    torch, functional, _, torch_fan_class = _torch_fan_modules()
    torch_fan = torch_fan_class().eval()
    assert {n: tuple(v.shape) for n, v in torch_fan.state_dict().items()} == official_state_dict_shapes()
    torch_fan.load_state_dict(_torch_state(torch, official_weights))
    images = np.random.default_rng(10).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    heatmaps = wing_masks.landmark_heatmaps(loaded_fan, images)
    with torch.no_grad():  # get_heatmap's steps before preprocess
        resized = functional.interpolate(torch.from_numpy(_nchw(images).copy()), size=256, mode="bilinear")
        outputs = torch_fan(resized * 0.5 + 0.5)[:, :-1]
        expected = functional.interpolate(outputs, scale_factor=4, mode="bilinear", align_corners=True).numpy()
    scale = np.abs(expected).max()
    assert heatmaps.shape == (1, 256, 256, 98) and scale > 0.1
    np.testing.assert_allclose(_nchw(heatmaps), expected, rtol=1e-3, atol=1e-3 * scale)


@pytest.mark.parametrize("in_size", [32, 300, 512])
def test_tf_bilinear_resize_is_torch_without_align_corners(in_size):
    torch, functional, _, _ = _torch_fan_modules()
    images = np.random.default_rng(11).normal(size=(1, in_size, in_size, 3)).astype(np.float32)
    expected = functional.interpolate(torch.from_numpy(_nchw(images).copy()), size=256, mode="bilinear").numpy()
    resized = keras.ops.image.resize(images, (256, 256), interpolation="bilinear")
    np.testing.assert_allclose(_nchw(resized), expected, rtol=1e-5, atol=1e-5)
    upsampled = functional.interpolate(
        torch.from_numpy(expected[..., :64, :64].copy()), size=200, align_corners=True, mode="bilinear"
    )
    np.testing.assert_allclose(
        _nchw(wing_masks.resize_align_corners(np.transpose(expected[..., :64, :64], (0, 2, 3, 1)), 200)),
        upsampled.numpy(),
        rtol=1e-5,
        atol=1e-5,
    )
