"""Models the Draw page reads a digit with: the shipped LeNet-5 and a student's uploaded Keras
model.

Both answer one small protocol, `Reader`, so the page draws the prediction, the layer tabs and the
saliency the same way for either and never asks which one it has (as `training/backends.py` does
for the three ways to train). `readers.lenet` is LeNet-5 on NumPy weights (no TensorFlow);
`readers.keras_model` the uploaded .keras file (Keras imported inside its functions).
"""

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

DIGITS = tuple(str(digit) for digit in range(10))  # MNIST's classes, in output order


@dataclass(frozen=True)
class LayerOutput:
    """One layer's output for one digit (batch axis dropped): values (h, w, c), (h, w) or (n,);
    kernels W (kh, kw, c_prev, c) for a convolution, else None; tab: the layer-by-layer tab that
    shows it (layers sharing a tab are drawn together)."""

    name: str
    kind: str
    values: np.ndarray
    kernels: np.ndarray | None
    tab: str = ""

    def __post_init__(self):
        if not self.tab:
            object.__setattr__(self, "tab", self.name)


@runtime_checkable
class Reader(Protocol):
    """What the Draw page asks of a model (digit: (28, 28) float32 in [0, 1], ink 1, paper 0)."""

    class_names: tuple[str, ...] | None
    """Names of the classes when the outputs are their probabilities; None when the outputs are
    shown as they are (output_note says why)."""
    output_note: str
    """"" when the outputs are class probabilities; else what they are, for the user."""
    description: str
    """A few words on the model for its caption, e.g. "backend numpy, accuracy 0.98"."""

    def read(self, digit: np.ndarray) -> tuple[np.ndarray, list[LayerOutput]]:
        """(outputs (k,), every layer's output in order) for digit, in inference mode."""

    def saliency(self, digit: np.ndarray, unit: int) -> tuple[np.ndarray, str]:
        """(d score / d pixel (28, 28), what the score is, e.g. "its logit, before softmax") of
        output `unit`."""
