"""Rebuild data/lenet5_mnist.npz, the Draw page's model, from data/lenet5_mnist.keras
(cnnviz.paths.PRETRAINED_MODEL from PRETRAINED_KERAS).

    .venv/bin/python scripts/export_pretrained.py

The Keras file is what training writes (the README gives the recipe); the .npz holds the same
weights in cnnviz.lenet's saved format, so the Draw page runs LeNet-5 without importing TensorFlow.
Run it again after retraining the .keras file, and commit both.
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# After the sys.path line (hence noqa): the checkout's cnnviz, not an installed copy.
from cnnviz import data, paths  # noqa: E402
from cnnviz.nn import lenet  # noqa: E402


def main() -> int:
    params, _ = lenet.load_params(paths.PRETRAINED_KERAS)
    mnist = data.load_dataset("mnist")
    probs = lenet.predict(params, mnist.x_test[..., None].astype(np.float32) / 255.0)
    accuracy = float((probs.argmax(axis=1) == mnist.y_test).mean())
    lenet.save_params(paths.PRETRAINED_MODEL, params, {
        "backend": "keras", "dataset": "mnist", "accuracy": f"{accuracy:.2%}",
        "source": paths.PRETRAINED_KERAS.name,
    })
    print(f"{paths.PRETRAINED_MODEL}: {accuracy:.2%} on {len(mnist.y_test):,} test digits "
          f"from {mnist.source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
