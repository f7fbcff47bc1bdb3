"""A dense layer whose kernel gradient a train step takes as two small factors, X^T dY, over all its uses.

A gradient tape differentiates every use of a weight on its own and sums
the parts: a kernel used twice in a step gets two kernel-sized partial
gradients, held together before their sum. For most layers that is nothing;
for U-GAT-IT's full-mode MLP it is 1.07 GB per part (a 1,048,576 x 256
kernel that each generator uses twice a step, to translate and to
reconstruct). Yet the kernel gradient of a dense layer over all its uses is
one product,

    dL/dW = Σ_uses x_u^T dy_u = X^T dY,  X = concat(x_u), dY = concat(dL/dy_u),

whose factors are small (one row per image).

While a `KernelGradientRecording` of a tape is active, a
`RecordedKernelDense` reads its kernel through `stop_gradient` and records
its input x and its product y = x W, which the tape watches.
`KernelGradientRecording.gradient_factors(loss, variables)` asks the tape
for dL/dy of every recorded product alongside the other variables'
gradients, and gives each recorded kernel's (X, dY); `gradients` multiplies
them out. Outside a recording the layer is an ordinary dense layer, so any
other tape (a separate optimizer's step, a test) differentiates it as usual.

`rows_per_block` keeps a kernel as row blocks, each its own variable
(x W = Σ_k x[:, rows_k] W_k, block k's gradient X[:, rows_k]^T dY):
`ugatit.factored_updates` builds and applies one block's gradient at a time,
in place, with a `training.optimizers.FusedAdam`, and the step never holds a
kernel-sized gradient.
"""

from __future__ import annotations

import functools

import keras
from keras import ops

_ACTIVE: list[KernelGradientRecording] = []


class KernelGradientRecording:
    """The uses of `RecordedKernelDense` layers while it is active: `with tape, recording:` around the forward
    pass, then `recording.gradient_factors(loss, variables)` or `recording.gradients(loss, variables)` in place
    of `tape.gradient(loss, variables)`."""

    def __init__(self, tape):
        self.tape = tape
        self.uses: dict[int, tuple] = {}  # id(layer): (layer, [inputs], [products])

    def __enter__(self):
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc_info):
        _ACTIVE.remove(self)

    def record(self, layer, inputs, products) -> None:
        self.tape.watch(products)  # on the tape even when no input is
        _, recorded_inputs, recorded_products = self.uses.setdefault(id(layer), (layer, [], []))
        recorded_inputs.append(inputs)
        recorded_products.append(products)

    def gradients(self, loss, variables) -> list:
        """`tape.gradient(loss, variables)`, each recorded kernel block's gradient built as X^T dY."""
        gradients, factors = self.gradient_factors(loss, variables)
        for position, (inputs, product_gradients) in factors.items():
            gradient = ops.matmul(ops.transpose(inputs), product_gradients)
            gradients[position] = ops.cast(gradient, variables[position].dtype)
        return gradients

    def gradient_factors(self, loss, variables) -> tuple[list, dict]:
        """`tape.gradient(loss, variables)` with None for each recorded kernel block, and {its position in
        `variables`: (X, dY)}, its gradient's two factors ([rows, the block's inputs] and [rows, units])."""
        products = [product for _, _, recorded in self.uses.values() for product in recorded]
        everything = self.tape.gradient(loss, [*variables, *products])
        gradients, product_gradients = list(everything[: len(variables)]), iter(everything[len(variables) :])
        positions = {id(variable): index for index, variable in enumerate(variables)}
        factors = {}
        for layer, inputs, recorded in self.uses.values():
            gradients_of_products = ops.cast(
                _rows([_zeros_if_none(next(product_gradients), y) for y in recorded]), inputs[0].dtype
            )
            rows = _rows(inputs)
            for block, (begin, end) in zip(layer.kernel_blocks, layer.row_bounds):
                if id(block) in positions:  # else a kernel of a network this loss does not train
                    factors[positions[id(block)]] = (rows[:, begin:end], gradients_of_products)
        return gradients, factors


@keras.saving.register_keras_serializable(package="ugatit")
class RecordedKernelDense(keras.layers.Layer):
    """activation(x W + b), whose kernel an active `KernelGradientRecording` differentiates as X^T dY over all
    the layer's uses (its bias as usual).

    `rows_per_block` (None: one block) keeps a kernel of more input rows as blocks of at most that many
    rows, each its own variable, named `kernel_rows_<begin>_<end>`; one block is named `kernel`. Each block
    is drawn from `kernel_initializer` at its own shape, so a blocked kernel needs an initializer that does
    not depend on the shape's fans (RandomNormal, not Glorot). Weights are the blocks in row order, then
    the bias.
    """

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        rows_per_block: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if rows_per_block is not None and rows_per_block < 1:
            raise ValueError(f"rows_per_block must be a positive number of rows or None, got {rows_per_block}")
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.rows_per_block = rows_per_block

    def build(self, input_shape):
        rows = input_shape[-1]
        step = self.rows_per_block or rows
        self.row_bounds = [(begin, min(begin + step, rows)) for begin in range(0, rows, step)]
        if len(self.row_bounds) > 1 and isinstance(self.kernel_initializer, keras.initializers.VarianceScaling):
            raise ValueError(
                f"{self.name}: a kernel kept in {len(self.row_bounds)} row blocks draws each block at its own shape, "
                f"so its initializer must not scale with the fans; got {type(self.kernel_initializer).__name__}"
            )
        self.kernel_blocks = [
            self.add_weight(
                name="kernel" if len(self.row_bounds) == 1 else f"kernel_rows_{begin}_{end}",
                shape=(end - begin, self.units),
                initializer=self.kernel_initializer,
            )
            for begin, end in self.row_bounds
        ]
        self.bias = (
            self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: rows})

    @property
    def kernel(self):
        """The whole kernel: its one variable, or its blocks concatenated (a new tensor the kernel's size)."""
        if len(self.kernel_blocks) == 1:
            return self.kernel_blocks[0]
        return ops.concatenate(self.kernel_blocks, axis=0)

    def call(self, inputs):
        recording = _ACTIVE[-1] if _ACTIVE else None
        pieces = [inputs] if len(self.row_bounds) == 1 else ops.split(inputs, self._block_starts(), axis=-1)
        blocks = [ops.stop_gradient(block) if recording else block for block in self.kernel_blocks]
        products = functools.reduce(ops.add, [ops.matmul(piece, block) for piece, block in zip(pieces, blocks)])
        if recording:
            recording.record(self, inputs, products)
        return self.activation(products if self.bias is None else ops.add(products, self.bias))

    def _block_starts(self) -> list[int]:
        """Where each block after the first starts: `ops.split`'s indices."""
        return [begin for begin, _ in self.row_bounds[1:]]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "rows_per_block": self.rows_per_block,
        }


# U-GAT-IT generators exported before the layer moved to this package name it "training>RecordedKernelDense":
# the same class loads them.
keras.saving.get_custom_objects()["training>RecordedKernelDense"] = RecordedKernelDense


def _rows(tensors: list):
    """The recorded [batch, ...] tensors of one kernel as one [rows, features] matrix."""
    return ops.concatenate([ops.reshape(tensor, (-1, tensor.shape[-1])) for tensor in tensors], axis=0)


def _zeros_if_none(gradient, product):
    """dL/dy of a product the loss does not depend on is None to a tape: zeros of its shape."""
    return ops.zeros_like(product) if gradient is None else gradient
