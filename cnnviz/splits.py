"""The three splits a dataset is used in — train, validation, test — with samples and class counts.

Validation is the dataset's own split when its file has one (the course's MNIST.npz); otherwise
the images the Training page holds out of the training set (same fraction and seed), so the
Data page shows what training will see.
"""

import numpy as np

from cnnviz.train import TrainConfig, split_indices

SPLITS = ("train", "validation", "test")


def dataset_splits(dataset, *, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train", "validation", "test"} -> (images (n, 28, 28) uint8, labels (n,))."""
    if dataset.x_valid is not None:
        return {"train": (dataset.x_train, dataset.y_train),
                "validation": (dataset.x_valid, dataset.y_valid),
                "test": (dataset.x_test, dataset.y_test)}
    train, valid = split_indices(len(dataset.x_train), TrainConfig(seed=seed),
                                 np.random.default_rng(seed))
    return {"train": (dataset.x_train[train], dataset.y_train[train]),
            "validation": (dataset.x_train[valid], dataset.y_train[valid]),
            "test": (dataset.x_test, dataset.y_test)}


def sample_indices(n: int, count: int = 25, seed: int = 0) -> np.ndarray:
    """`count` distinct indices out of n (all of them when n is smaller) in random order, drawn
    with `seed`: the same seed shows the same samples, whatever order the file keeps its images in
    (a file sorted by class still gives a mixed grid)."""
    return np.random.default_rng(seed).choice(n, size=min(count, n), replace=False)


def class_counts(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Images per class (n_classes,)."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
