"""cnnviz.data.splits: the Data page's train / validation / test splits, samples and class
counts."""

import numpy as np
import pytest

from cnnviz.data import splits
from cnnviz.data.datasets import Dataset


def dataset(with_valid=False, n=50):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)
    extra = {"x_valid": x[:5], "y_valid": y[:5]} if with_valid else {}
    return Dataset("mnist", x, y, x[:8], y[:8], "test", **extra)


def test_validation_is_what_the_training_page_holds_out():
    ds = dataset()
    parts = splits.dataset_splits(ds)
    train, valid = splits.split_indices(50, np.random.default_rng(0))
    np.testing.assert_array_equal(parts["validation"].indices, valid)
    np.testing.assert_array_equal(parts["train"].indices, train)
    assert (len(parts["train"]), len(parts["validation"]), len(parts["test"])) == (45, 5, 8)
    assert parts["train"].images is ds.x_train  # positions, not copies


def test_split_indices_hold_out_the_fraction_first_of_a_seeded_permutation():
    train, valid = splits.split_indices(1000, np.random.default_rng(7), limit=300)
    order = np.random.default_rng(7).permutation(1000)
    n_valid = round(splits.VALIDATION_FRACTION * 300)
    np.testing.assert_array_equal(valid, order[:n_valid])
    np.testing.assert_array_equal(train, order[n_valid:300])
    assert splits.split_sizes(1000) == (1000 - round(1000 * splits.VALIDATION_FRACTION),
                                        round(1000 * splits.VALIDATION_FRACTION))
    assert splits.split_sizes(2, fraction=0.01) == (1, 1)  # at least one image validates


def test_a_limit_that_leaves_nothing_to_train_on_is_refused():
    with pytest.raises(ValueError, match="limit 1 leaves no training images"):
        splits.split_sizes(50, limit=1)


def test_a_files_own_validation_split_is_used():
    ds = dataset(with_valid=True)
    parts = splits.dataset_splits(ds)
    assert parts["validation"].images is ds.x_valid and len(parts["validation"]) == 5
    assert len(parts["train"]) == 50


def test_a_sample_comes_from_its_split_with_its_labels():
    ds = dataset()
    validation = splits.dataset_splits(ds)["validation"]
    images, labels = validation.sample(3, seed=1)
    chosen = validation.indices[splits.sample_indices(5, 3, seed=1)]
    np.testing.assert_array_equal(images, ds.x_train[chosen])
    np.testing.assert_array_equal(labels, ds.y_train[chosen])
    assert validation.class_counts().sum() == 5
    np.testing.assert_array_equal(validation.class_counts(),
                                  np.bincount(ds.y_train[validation.indices], minlength=10))


def test_sample_indices_are_distinct_seeded_and_bounded():
    first = splits.sample_indices(1000, 25, seed=4)
    assert len(set(first.tolist())) == 25 and first.max() < 1000
    np.testing.assert_array_equal(first, splits.sample_indices(1000, 25, seed=4))
    assert not np.array_equal(first, splits.sample_indices(1000, 25, seed=5))
    assert sorted(splits.sample_indices(7, 25).tolist()) == list(range(7))


def test_class_counts():
    counts = splits.class_counts(np.array([0, 3, 3, 9]))
    assert counts.tolist() == [1, 0, 0, 2, 0, 0, 0, 0, 0, 1]
