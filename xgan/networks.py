"""XGAN sub-networks (Royer et al. 2018, arXiv 1711.05139; report §6.2), pure Keras.

Layer tables (the report's slides, DESIGN §3; `//` = shared by both domains):

    Encoder e_d                      Decoder d_d                   Discriminator D_d
    input      64x64x3               input        1x1x1024         input  64x64x3
    conv1      32x32x32              // deconv1   4x4x512          conv1  32x32x16
    conv2      16x16x64              // deconv2   8x8x256          conv2  16x16x32
    // conv3   8x8x128               deconv3      16x16x128        conv3  8x8x32
    // conv4   4x4x256               deconv4      32x32x64         conv4  4x4x32
    // FC1     1024                  deconv5      64x64x3 (tanh)   FC     1 (logit)
    // FC2     1024 (embedding)

The tables give only the output sizes. The rest follows DCGAN (Radford et al.
2015; the report's GAN came from the TensorFlow DCGAN tutorial and "ganhacks",
its refs [3], [5]) and the second version of the report's own code
(github.com/rogeralmato/XGAN, XGAN-v2/module.py):

- every (de)convolution is 4x4 with stride 2 and "same" padding (exactly the
  halving / doubling of the tables), except deconv1, a 4x4 "valid" transposed
  convolution of the 1x1x1024 embedding to 4x4x512, implemented as the dense
  layer it is equivalent to;
- no normalisation layers. Instance normalisation removes each image's
  per-channel means, i.e. its colours, at every layer: with it, every sample
  of the synthetic faces decoded to the same grey mean face after 300 steps,
  and, in the discriminator, it blew up the near-constant activations of flat
  translations. Without it the hidden layers use He
  initialisation ("he_normal"), so activations keep their scale through the
  LeakyReLU / ReLU stack;
- the embedding (FC2) is projected onto the sphere of radius sqrt(1024), so
  every component has RMS 1. The gradient-reversed L_dann rewards the
  encoders for any growth of the embeddings; unbounded, they reached norms
  of 10^7 within 200 steps;
- LeakyReLU(0.2) in the encoders and the discriminator, ReLU in the decoders,
  tanh on the image output;
- FC1 is LeakyReLU, FC2 (the embedding) is linear before its projection;
- the image output and every logit are computed in float32, so
  `mixed_float16` keeps them numerically safe; they and c_dann keep Keras's
  default (Glorot) initialisers.

The DANN domain classifier c_dann is not tabulated; it is the report's
(1024 -> 256 ReLU -> 64 ReLU -> 1) behind a gradient-reversal layer (Ganin &
Lempitsky 2015), with one binary logit out instead of the report's 1-unit
softmax, whose output is the constant 1.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from training.layers import spectral_normalization

DOMAINS = ("face", "cartoon")
IMAGE_SHAPE = (64, 64, 3)
EMBEDDING_SIZE = 1024
SHARED_FEATURE_SHAPE = (16, 16, 64)  # private encoder output = shared encoder input
DECODER_FEATURE_SHAPE = (8, 8, 256)  # shared decoder output = private decoder input
DOMAIN_CLASSIFIER_UNITS = (256, 64)
LEAKY_SLOPE = 0.2
HIDDEN_INITIALIZER = "he_normal"
UPSAMPLING_KINDS = ("transposed", "resize_conv")


def check_domain(domain: str) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    return domain


def scale_gradient(x, scale):
    """Identity forward; the backward pass multiplies the gradient by `scale` (a float or a scalar tensor)."""

    @ops.custom_gradient
    def identity_with_scaled_gradient(x):
        def grad(*args, upstream=None):
            if upstream is None:  # TF and JAX pass it positionally, PyTorch by keyword
                (upstream,) = args
            return ops.multiply(upstream, ops.cast(scale, upstream.dtype))

        return x, grad

    return identity_with_scaled_gradient(x)


def reverse_gradient(x, scale):
    """Identity forward; the backward pass multiplies the gradient by `-scale`."""
    return scale_gradient(x, -scale)


@keras.saving.register_keras_serializable(package="xgan")
class GradientReversal(keras.layers.Layer):
    """Gradient-reversal layer of DANN (Ganin & Lempitsky 2015).

    Forward: y = x. Backward: dL/dx = -scale * dL/dy. Placed between the shared
    encoder and c_dann, it lets one minimisation of L_dann train the classifier
    to tell the domains apart while pushing the encoder to make them
    indistinguishable.
    """

    def __init__(self, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        return reverse_gradient(inputs, self.scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def _downsample(x, filters: int, name: str, spectral_norm: bool = False):
    """conv 4x4 stride 2 -> LeakyReLU; the conv is named `name` (wrapped in spectral normalisation with
    `spectral_norm`, its conv then `{name}_conv`)."""
    conv_name = f"{name}_conv" if spectral_norm else name
    conv = layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=HIDDEN_INITIALIZER, name=conv_name)
    if spectral_norm:
        conv = spectral_normalization(conv, name)
    return layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_lrelu")(conv(x))


def _upsample(x, filters: int, name: str, upsampling: str = "transposed", **conv_options):
    """Twice the size, with `filters` channels out; the layer that learns is named `name` and takes
    `conv_options` (its initialiser, activation, dtype).

    `transposed`: the paper's transposed conv 4x4 stride 2. `resize_conv`: a nearest-neighbour 2x resize
    then a 3x3 "same" convolution (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"): every
    output pixel sees the kernel alike, with 9/16 of the transposed kernel's weights.
    """
    if upsampling not in UPSAMPLING_KINDS:
        raise ValueError(f"upsampling must be one of {UPSAMPLING_KINDS}, got {upsampling!r}")
    if upsampling == "transposed":
        return layers.Conv2DTranspose(filters, 4, strides=2, padding="same", name=name, **conv_options)(x)
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
    return layers.Conv2D(filters, 3, padding="same", name=name, **conv_options)(x)


def _upsample_relu(x, filters: int, name: str, upsampling: str):
    """`_upsample` -> ReLU, the decoders' hidden layers."""
    x = _upsample(x, filters, name, upsampling, kernel_initializer=HIDDEN_INITIALIZER)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_private_encoder(domain: str) -> keras.Model:
    """e_d's domain-specific half: 64x64x3 image -> conv1 -> conv2 16x16x64."""
    prefix = f"{check_domain(domain)}_encoder"
    images = keras.Input(IMAGE_SHAPE, name=f"{prefix}_images")
    x = _downsample(images, 32, f"{prefix}_conv1")
    x = _downsample(x, 64, f"{prefix}_conv2")
    return keras.Model(images, x, name=prefix)


def build_shared_encoder() -> keras.Model:
    """The shared half of both encoders: 16x16x64 -> conv3 -> conv4 -> FC1 -> FC2, the 1024-d embedding."""
    prefix = "shared_encoder"
    features = keras.Input(SHARED_FEATURE_SHAPE, name=f"{prefix}_features")
    x = _downsample(features, 128, f"{prefix}_conv3")
    x = _downsample(x, 256, f"{prefix}_conv4")
    x = layers.Flatten(name=f"{prefix}_flatten")(x)
    x = layers.Dense(EMBEDDING_SIZE, kernel_initializer=HIDDEN_INITIALIZER, name=f"{prefix}_fc1")(x)
    x = layers.LeakyReLU(LEAKY_SLOPE, name=f"{prefix}_fc1_lrelu")(x)
    x = layers.Dense(EMBEDDING_SIZE, name=f"{prefix}_fc2")(x)
    # On the sphere of radius sqrt(1024): every component has RMS 1, whatever the encoders do. Without
    # this bound, gradient reversal inflates the embeddings without limit (an ever larger L_dann).
    x = layers.UnitNormalization(name=f"{prefix}_fc2_unit_norm")(x)
    embedding = layers.Rescaling(EMBEDDING_SIZE**0.5, name=f"{prefix}_embedding")(x)
    return keras.Model(features, embedding, name=prefix)


def build_shared_decoder(upsampling: str = "transposed") -> keras.Model:
    """The shared head of both decoders: 1024-d embedding (1x1x1024) -> deconv1 4x4x512 -> deconv2 8x8x256
    (`upsampling`: deconv2's kind, see `_upsample`)."""
    prefix = "shared_decoder"
    embedding = keras.Input((EMBEDDING_SIZE,), name=f"{prefix}_embedding")
    # A 4x4 "valid" transposed convolution of a 1x1 input is exactly a dense layer to 4*4*512 units
    # (same weights, same count); as a matmul it is several times faster on CPU.
    x = layers.Dense(4 * 4 * 512, kernel_initializer=HIDDEN_INITIALIZER, name=f"{prefix}_deconv1")(embedding)
    x = layers.Reshape((4, 4, 512), name=f"{prefix}_deconv1_reshape")(x)
    x = layers.ReLU(name=f"{prefix}_deconv1_relu")(x)
    x = _upsample_relu(x, 256, f"{prefix}_deconv2", upsampling)
    return keras.Model(embedding, x, name=prefix)


def build_private_decoder(domain: str, upsampling: str = "transposed") -> keras.Model:
    """d_d's domain-specific tail: 8x8x256 -> deconv3 -> deconv4 -> deconv5 64x64x3 in [-1, 1] (float32)
    (`upsampling`: the three layers' kind, see `_upsample`)."""
    prefix = f"{check_domain(domain)}_decoder"
    features = keras.Input(DECODER_FEATURE_SHAPE, name=f"{prefix}_features")
    x = _upsample_relu(features, 128, f"{prefix}_deconv3", upsampling)
    x = _upsample_relu(x, 64, f"{prefix}_deconv4", upsampling)
    images = _upsample(x, 3, f"{prefix}_deconv5", upsampling, activation="tanh", dtype="float32")
    return keras.Model(features, images, name=prefix)


def build_discriminator(domain: str, spectral_norm: bool = False) -> keras.Model:
    """D_d: 64x64x3 image -> conv1..conv4 -> FC, one real/fake logit (float32).

    `spectral_norm` wraps every convolution and the FC in spectral normalisation (Miyato et al. 2018: each
    kernel divided by its largest singular value, estimated by one power iteration per training call); the
    paper's discriminator has none.
    """
    prefix = f"{check_domain(domain)}_discriminator"
    images = keras.Input(IMAGE_SHAPE, name=f"{prefix}_images")
    x = _downsample(images, 16, f"{prefix}_conv1", spectral_norm)
    x = _downsample(x, 32, f"{prefix}_conv2", spectral_norm)
    x = _downsample(x, 32, f"{prefix}_conv3", spectral_norm)
    x = _downsample(x, 32, f"{prefix}_conv4", spectral_norm)
    x = layers.Flatten(name=f"{prefix}_flatten")(x)
    fc_name = f"{prefix}_fc"
    if spectral_norm:
        fc = spectral_normalization(layers.Dense(1, dtype="float32", name=f"{fc_name}_dense"), fc_name, dtype="float32")
    else:
        fc = layers.Dense(1, dtype="float32", name=fc_name)
    return keras.Model(images, fc(x), name=prefix)


def build_domain_classifier(gradient_reversal_scale: float = 1.0) -> keras.Model:
    """c_dann: 1024-d embedding -> gradient reversal -> 256 -> 64 -> 1 logit of "the embedding is a cartoon's"."""
    prefix = "domain_classifier"
    embedding = keras.Input((EMBEDDING_SIZE,), name=f"{prefix}_embedding")
    x = GradientReversal(gradient_reversal_scale, name=f"{prefix}_gradient_reversal")(embedding)
    for index, units in enumerate(DOMAIN_CLASSIFIER_UNITS, start=1):
        x = layers.Dense(units, activation="relu", name=f"{prefix}_fc{index}")(x)
    logits = layers.Dense(1, dtype="float32", name=f"{prefix}_fc{len(DOMAIN_CLASSIFIER_UNITS) + 1}")(x)
    return keras.Model(embedding, logits, name=prefix)


def compose(*networks: keras.Model, name: str) -> keras.Model:
    """A functional model applying `networks` in order; it holds the same layers (and variables), not copies."""
    inputs = keras.Input(networks[0].input.shape[1:], name=f"{name}_input")
    x = inputs
    for network in networks:
        x = network(x)
    return keras.Model(inputs, x, name=name)


def build_encoder(private_encoder: keras.Model, shared_encoder: keras.Model, domain: str) -> keras.Model:
    """e_d: image of `domain` -> 1024-d embedding."""
    return compose(private_encoder, shared_encoder, name=f"{check_domain(domain)}_encoder_full")


def build_decoder(shared_decoder: keras.Model, private_decoder: keras.Model, domain: str) -> keras.Model:
    """d_d: 1024-d embedding -> image of `domain`."""
    return compose(shared_decoder, private_decoder, name=f"{check_domain(domain)}_decoder_full")


def build_translator(
    source_encoder: keras.Model,
    shared_encoder: keras.Model,
    shared_decoder: keras.Model,
    target_decoder: keras.Model,
    source: str,
    target: str,
) -> keras.Model:
    """g_{source->target} = d_target(e_source(x)), e.g. "face2cartoon"."""
    name = f"{check_domain(source)}2{check_domain(target)}"
    return compose(source_encoder, shared_encoder, shared_decoder, target_decoder, name=name)
