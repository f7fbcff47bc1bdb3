"""One TFLite model file, run with LiteRT (`ai-edge-litert`) or TensorFlow's `tf.lite`.

LiteRT is the default: it is the interpreter TensorFlow's own `tf.lite.Interpreter`
was deprecated in favour of, and `benchmarks/face_preprocessing.py` times both.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

RUNTIMES = ("litert", "tensorflow")
DEFAULT_RUNTIME = "litert"


def _interpreter_class(runtime: str):
    if runtime == "litert":
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    if runtime == "tensorflow":
        import tensorflow as tf

        return tf.lite.Interpreter
    raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")


class TFLiteModel:
    """A model with one float32 input; calls are serialised, so tf.data threads may share it."""

    def __init__(self, path: str | Path, runtime: str = DEFAULT_RUNTIME, num_threads: int | None = None):
        self._interpreter = _interpreter_class(runtime)(model_path=str(path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        (self._input,) = self._interpreter.get_input_details()
        self._outputs = self._interpreter.get_output_details()
        self._lock = threading.Lock()

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model's input image."""
        _, height, width, _ = self._input["shape"]
        return int(height), int(width)

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        """The outputs, in the model's order, for one 1xHxWx3 float32 input."""
        with self._lock:
            self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(batch, np.float32))
            self._interpreter.invoke()
            return [self._interpreter.get_tensor(output["index"]).copy() for output in self._outputs]
