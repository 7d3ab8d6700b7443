"""The three splits a dataset is used in — train, validation, test — with samples and class counts.

Validation is the dataset's own split when its file has one (the course's MNIST.npz); otherwise
the images the Training page holds out of the training set (same fraction and seed), so the
Data page shows what training will see. A split is positions into the dataset's arrays: nothing
is copied (the server shares one dataset between every session).
"""

from dataclasses import dataclass

import numpy as np

from cnnviz.training import TrainConfig, split_indices

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    """images (N, 28, 28) uint8 and labels (N,): the dataset's own arrays; indices (n,): which of
    them belong to the split."""

    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)

    def sample(self, count: int = 25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(images (count, 28, 28), labels (count,)) drawn by sample_indices."""
        chosen = self.indices[sample_indices(len(self), count, seed)]
        return self.images[chosen], self.labels[chosen]

    def class_counts(self, n_classes: int = 10) -> np.ndarray:
        return class_counts(self.labels[self.indices], n_classes)


def _whole(images: np.ndarray, labels: np.ndarray) -> Split:
    return Split(images, labels, np.arange(len(labels)))


def dataset_splits(dataset, *, seed: int = 0) -> dict[str, Split]:
    """{"train", "validation", "test"} -> Split; seed: the Training page's (its default 0)."""
    if dataset.x_valid is not None:
        return {"train": _whole(dataset.x_train, dataset.y_train),
                "validation": _whole(dataset.x_valid, dataset.y_valid),
                "test": _whole(dataset.x_test, dataset.y_test)}
    train, valid = split_indices(len(dataset.x_train), TrainConfig(seed=seed),
                                 np.random.default_rng(seed))
    return {"train": Split(dataset.x_train, dataset.y_train, train),
            "validation": Split(dataset.x_train, dataset.y_train, valid),
            "test": _whole(dataset.x_test, dataset.y_test)}


def sample_indices(n: int, count: int = 25, seed: int = 0) -> np.ndarray:
    """`count` distinct indices out of n (all of them when n is smaller) in random order, drawn
    with `seed`: the same seed shows the same samples, whatever order the file keeps its images in
    (a file sorted by class still gives a mixed grid)."""
    return np.random.default_rng(seed).choice(n, size=min(count, n), replace=False)


def class_counts(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Images per class (n_classes,)."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
