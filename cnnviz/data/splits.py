"""The three splits a dataset is used in — train, validation, test — with samples and class counts.

Validation is the dataset's own split when its file has one (the course's MNIST.npz); otherwise
the images training holds out of the training set: VALIDATION_FRACTION of them, the first of a
seeded permutation (split_indices; training, the Data page and the exported scripts all hold out
this one split). A split is positions into the dataset's arrays: nothing is copied (the server
shares one dataset between every session).
"""

from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "validation", "test")
VALIDATION_FRACTION = 0.1  # of the training images used, held out for validation


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
    train, valid = split_indices(len(dataset.x_train), np.random.default_rng(seed))
    return {"train": Split(dataset.x_train, dataset.y_train, train),
            "validation": Split(dataset.x_train, dataset.y_train, valid),
            "test": _whole(dataset.x_test, dataset.y_test)}


def split_sizes(n: int, limit: int | None = None,
                fraction: float = VALIDATION_FRACTION) -> tuple[int, int]:
    """(training images, validation images) taken from n images: the first `limit` of them (all
    when None), `fraction` of those (at least one) held out. ValueError when none is left to
    train."""
    used = min(n, limit or n)
    n_val = max(1, round(fraction * used))
    if used - n_val < 1:
        raise ValueError(f"limit {limit} leaves no training images; use a larger limit")
    return used - n_val, n_val


def split_indices(n: int, rng: np.random.Generator, limit: int | None = None,
                  fraction: float = VALIDATION_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices) of n images: rng's permutation of them, cut to the
    split_sizes(n, limit, fraction) images used, validation first. rng moves on (training draws
    its batch orders from the same generator)."""
    n_train, n_val = split_sizes(n, limit, fraction)
    order = rng.permutation(n)[: n_train + n_val]
    return order[n_val:], order[:n_val]


def sample_indices(n: int, count: int = 25, seed: int = 0) -> np.ndarray:
    """`count` distinct indices out of n (all of them when n is smaller) in random order, drawn
    with `seed`: the same seed shows the same samples, whatever order the file keeps its images in
    (a file sorted by class still gives a mixed grid)."""
    return np.random.default_rng(seed).choice(n, size=min(count, n), replace=False)


def class_counts(labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Images per class (n_classes,)."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
