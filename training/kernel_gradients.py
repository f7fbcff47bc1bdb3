"""A Dense layer whose kernel gradient a train step builds once from all its uses: X^T dY, one matmul.

A gradient tape differentiates every use of a weight on its own and sums
the parts: a kernel used twice in a step gets two kernel-sized partial
gradients, held together before their sum. For most layers that is nothing;
for U-GAT-IT's full-mode MLP it is 1.07 GB per part (a 1,048,576 x 256
kernel that each generator uses twice a step, to translate and to
reconstruct). Yet the kernel gradient of a Dense layer over all its uses is
one product,

    dL/dW = Σ_uses x_u^T dy_u = X^T dY,  X = concat(x_u), dY = concat(dL/dy_u),

whose factors are small (one row per image).

While a `KernelGradientRecording` of a tape is active, a
`RecordedKernelDense` reads its kernel through `stop_gradient` and records
its input x and its product y = x W, which the tape watches.
`KernelGradientRecording.gradients(loss, variables)` asks the tape for dL/dy
of every recorded product alongside the other variables' gradients, and
gives each recorded kernel X^T dY: the same gradient, one kernel-sized
tensor. Outside a recording the layer is `keras.layers.Dense`,
so any other tape (a separate optimizer's step, a test) differentiates it as
usual.
"""

from __future__ import annotations

import keras
from keras import ops

_ACTIVE: list[KernelGradientRecording] = []


class KernelGradientRecording:
    """The uses of `RecordedKernelDense` layers while it is active: `with tape, recording:` around the forward
    pass, then `recording.gradients(loss, variables)` in place of `tape.gradient(loss, variables)`."""

    def __init__(self, tape):
        self.tape = tape
        self.uses: dict[int, tuple] = {}  # id(kernel): (kernel, [inputs], [products])

    def __enter__(self):
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc_info):
        _ACTIVE.remove(self)

    def record(self, kernel, inputs, products) -> None:
        self.tape.watch(products)  # on the tape even when no input is
        _, recorded_inputs, recorded_products = self.uses.setdefault(id(kernel), (kernel, [], []))
        recorded_inputs.append(inputs)
        recorded_products.append(products)

    def gradients(self, loss, variables) -> list:
        """`tape.gradient(loss, variables)`, each recorded kernel's gradient built as X^T dY."""
        products = [product for _, _, recorded in self.uses.values() for product in recorded]
        everything = self.tape.gradient(loss, [*variables, *products])
        gradients, product_gradients = list(everything[: len(variables)]), iter(everything[len(variables) :])
        positions = {id(variable): index for index, variable in enumerate(variables)}
        for key, (kernel, inputs, recorded) in self.uses.items():
            gradients_of_products = [_zeros_if_none(next(product_gradients), y) for y in recorded]
            if key not in positions:
                continue  # a kernel of a network this loss does not train
            product_gradient = ops.matmul(
                ops.transpose(_rows(inputs)), ops.cast(_rows(gradients_of_products), inputs[0].dtype)
            )
            gradients[positions[key]] = ops.cast(product_gradient, kernel.dtype)
        return gradients


@keras.saving.register_keras_serializable(package="training")
class RecordedKernelDense(keras.layers.Dense):
    """`keras.layers.Dense` whose kernel an active `KernelGradientRecording` differentiates as X^T dY over all
    the layer's uses (its bias and activation as usual). A LoRA or quantised kernel is not a plain variable, so
    such a layer leaves its differentiation to the tape."""

    def call(self, inputs, training=None):
        if not _ACTIVE or self.lora_enabled or self.quantization_mode:
            return super().call(inputs, training=training)
        products = ops.matmul(inputs, ops.stop_gradient(self.kernel))
        _ACTIVE[-1].record(self._kernel, inputs, products)
        outputs = products if self.bias is None else ops.add(products, self.bias)
        return outputs if self.activation is None else self.activation(outputs)


def _rows(tensors: list):
    """The recorded [batch, ...] tensors of one kernel as one [rows, features] matrix."""
    return ops.concatenate([ops.reshape(tensor, (-1, tensor.shape[-1])) for tensor in tensors], axis=0)


def _zeros_if_none(gradient, product):
    """dL/dy of a product the loss does not depend on is None to a tape: zeros of its shape."""
    return ops.zeros_like(product) if gradient is None else gradient
