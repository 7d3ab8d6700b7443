"""LeNet-5 on NumPy weights (cnnviz.nn.lenet) as a Draw page reader: no TensorFlow anywhere."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.nn import lenet
from cnnviz.readers import DIGITS, LayerOutput

DESCRIBED = ("backend", "accuracy")  # the file's meta shown in the model's caption


@dataclass(frozen=True)
class LeNetReader:
    """LeNet-5's params (cnnviz.nn.lenet's names) and the meta saved with them; see `Reader`."""

    params: dict
    meta: dict
    class_names: tuple[str, ...] = DIGITS
    output_note: str = ""

    @classmethod
    def load(cls, path: str | Path) -> "LeNetReader":
        """The LeNet-5 file at path; raises lenet.ModelFileError saying what is wrong."""
        return cls(*lenet.load_params(path))

    @property
    def description(self) -> str:
        return ", ".join(f"{key} {value}" for key, value in self.meta.items() if key in DESCRIBED)

    def read(self, digit: np.ndarray) -> tuple[np.ndarray, list[LayerOutput]]:
        """(probabilities (10,), [conv1, pool1, conv2, pool2, fc1, fc2]), fc1 and fc2 in one
        "dense" tab."""
        probs, cache = lenet.forward(self.params, _batch(digit))
        layers = []
        for index, conv in enumerate(lenet.CONV_LAYERS, start=1):
            kernels = self.params[f"{conv.name}_W"]
            layers.append(LayerOutput(conv.name, "Conv2D + ReLU", cache[conv.name][0], kernels))
            layers.append(
                LayerOutput(f"pool{index}", "MaxPooling2D", cache[f"pool{index}"][0], None)
            )
        layers += [
            LayerOutput(dense.name, "Dense + ReLU", cache[dense.name][0], None, tab="dense")
            for dense in lenet.DENSE_LAYERS
        ]
        return probs[0], layers

    def saliency(self, digit: np.ndarray, unit: int) -> tuple[np.ndarray, str]:
        gradient = lenet.input_gradient(self.params, _batch(digit), unit, of="logit")
        return gradient[0, ..., 0], "its logit, before softmax"


def _batch(digit: np.ndarray) -> np.ndarray:
    """digit (28, 28) -> LeNet-5's batch of one, (1, 28, 28, 1)."""
    return np.asarray(digit)[None, :, :, None]
