"""cnnviz.data.datasets on the embedded MNIST, tiny IDX/npz files written here, and Debian's
Fashion-MNIST."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from cnnviz.data import datasets as data


def write_idx(path: Path, array: np.ndarray, gzipped: bool = False) -> None:
    """An IDX file of unsigned bytes holding `array`."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gzipped else raw)


def write_idx_folder(folder: Path, n_train=6, n_test=4, gzipped=False, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28)),
              "y_train": rng.integers(0, 10, n_train),
              "x_test": rng.integers(0, 256, (n_test, 28, 28)),
              "y_test": rng.integers(0, 10, n_test)}
    folder.mkdir(parents=True, exist_ok=True)
    for field, stem in data.IDX_FILES.items():
        write_idx(folder / (stem + (".gz" if gzipped else "")), arrays[field], gzipped)
    return arrays


def test_embedded_mnist_is_a_fixed_stratified_8000_2000_split():
    mnist = data.embedded_mnist()
    assert mnist.x_train.shape == (8000, 28, 28) and mnist.x_test.shape == (2000, 28, 28)
    assert mnist.x_train.dtype == np.uint8 and set(np.unique(mnist.y_test)) == set(range(10))
    with np.load(data.EMBEDDED_MNIST) as archive:
        all_counts = np.bincount(archive["y"])
    # every class gives the test set its 20% share, to the image
    assert np.abs(np.bincount(mnist.y_test) - all_counts * 0.2).max() < 1
    again = data.embedded_mnist()
    np.testing.assert_array_equal(again.x_test, mnist.x_test)


def test_embedded_mnist_comes_in_a_fixed_mixed_order():
    mnist = data.embedded_mnist()
    for labels in (mnist.y_train, mnist.y_test):
        # a slice from the start holds every class, near its share (the course slices x[:3000])
        head = np.bincount(labels[: len(labels) // 4], minlength=10) / (len(labels) // 4)
        assert np.abs(head - np.bincount(labels) / len(labels)).max() < 0.03
    with np.load(data.EMBEDDED_MNIST) as archive:  # the split is a reordering of the file's digits
        assert sorted(map(bytes, np.concatenate([mnist.x_train, mnist.x_test]))) == sorted(
            map(bytes, archive["x"])
        )


def test_embedded_mnist_holds_real_digits():
    mnist = data.embedded_mnist()
    ink = (mnist.x_train > 127).mean(axis=(1, 2))
    assert 0.05 < ink.mean() < 0.25  # MNIST digits cover ~13% of the frame
    ones, zeros = mnist.x_train[mnist.y_train == 1], mnist.x_train[mnist.y_train == 0]
    assert (ones > 127).mean() < (zeros > 127).mean()  # a 1 has less ink than a 0
    assert mnist.x_train[:, :2].mean() < 1  # the digits sit centred: the border rows are blank


def test_load_dataset_mnist_falls_back_to_the_embedded_digits(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "keras")
    mnist = data.load_dataset("mnist")
    assert len(mnist.x_train) == 8000 and "ship with cnnviz" in mnist.source


@pytest.mark.parametrize("gzipped", [False, True])
def test_load_dataset_mnist_prefers_the_full_idx_files(monkeypatch, tmp_path, gzipped):
    arrays = write_idx_folder(tmp_path / "mnist", gzipped=gzipped)
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "keras")
    mnist = data.load_dataset("mnist")
    np.testing.assert_array_equal(mnist.x_train, arrays["x_train"])
    np.testing.assert_array_equal(mnist.y_test, arrays["y_test"])
    assert str(tmp_path / "mnist") in mnist.source


def test_load_dataset_mnist_reads_keras_mnist_npz(monkeypatch, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    (tmp_path / "keras").mkdir()
    np.savez(tmp_path / "keras" / "mnist.npz", x_train=x, y_train=np.arange(5), x_test=x[:2],
             y_test=np.arange(2))
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "empty")
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "keras")
    mnist = data.load_dataset("mnist")
    np.testing.assert_array_equal(mnist.x_train, x)
    assert mnist.y_train.tolist() == [0, 1, 2, 3, 4]


def test_load_dataset_reads_the_course_npz_layout(tmp_path):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (9, 28, 28)) / 255.0  # the course stores floats in [0, 1], flat
    one_hot = np.eye(10)[[3, 1, 4, 1, 5, 9, 2, 6, 5]]
    path = tmp_path / "MNIST.npz"
    np.savez(path, X_train=images[:5].reshape(5, 784), Y_train=one_hot[:5], X_valid=images[5:7],
             Y_valid=np.array([9, 2]), X_test=images[7:], Y_test=np.array([6, 5]))
    course = data.load_dataset("mnist", path)
    np.testing.assert_array_equal(course.x_train, np.rint(images[:5] * 255).astype(np.uint8))
    assert course.y_train.tolist() == [3, 1, 4, 1, 5] and course.y_valid.tolist() == [9, 2]
    assert course.x_valid.shape == (2, 28, 28) and course.x_test.dtype == np.uint8


def test_fashion_mnist_from_debian_package():
    # CI installs Debian's dataset-fashion-mnist (scripts/system-deps.sh), so this must not skip
    # there
    fashion = data.load_dataset("fashion-mnist")
    assert fashion.x_train.shape == (60000, 28, 28) and fashion.x_test.shape == (10000, 28, 28)
    assert np.bincount(fashion.y_train).tolist() == [6000] * 10
    assert fashion.class_names[9] == "Ankle boot"
    assert "fashion-mnist" in data.available_datasets()


def test_fashion_mnist_missing_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "FASHION_DIRS", (tmp_path,))
    with pytest.raises(data.DatasetUnavailable, match="apt-get install dataset-fashion-mnist"):
        data.load_dataset("fashion-mnist")
    assert data.available_datasets() == ["mnist"]


def test_truncated_idx_file_is_an_error_naming_the_file(monkeypatch, tmp_path):
    write_idx_folder(tmp_path / "mnist")
    images = tmp_path / "mnist" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "keras")
    with pytest.raises(data.DatasetError, match="train-images-idx3-ubyte is truncated"):
        data.load_dataset("mnist")  # never a silent fallback to the embedded digits


@pytest.mark.parametrize("damage, match", [
    (lambda raw: gzip.compress(raw)[:-20], "cannot be read"),
    (lambda raw: gzip.compress(b"\x00\x00\x09\x03" + raw[4:]), "not an IDX file"),
    (lambda raw: gzip.compress(raw[:10]), "header is incomplete"),
])
def test_corrupt_gzipped_idx_files(tmp_path, damage, match):
    arrays = write_idx_folder(tmp_path / "plain")
    write_idx(tmp_path / "x.idx", arrays["x_train"])
    bad = tmp_path / "bad.gz"
    bad.write_bytes(damage((tmp_path / "x.idx").read_bytes()))
    with pytest.raises(data.DatasetError, match=match):
        data.read_idx(bad)


def test_mismatched_images_and_labels_are_an_error(tmp_path):
    arrays = write_idx_folder(tmp_path / "f")
    write_idx(tmp_path / "f" / "t10k-labels-idx1-ubyte", arrays["y_test"][:2])
    with pytest.raises(data.DatasetError, match="do not pair up"):
        data.load_dataset("fashion-mnist", tmp_path / "f")


@pytest.mark.parametrize("content, match", [
    (b"not a zip at all", "not a readable .npz"),
    (None, "expected Keras' x_train"),
])
def test_bad_npz_files(tmp_path, content, match):
    path = tmp_path / "mnist.npz"
    if content is None:
        np.savez(path, images=np.zeros((2, 28, 28)))
    else:
        path.write_bytes(content)
    with pytest.raises(data.DatasetError, match=match):
        data.load_dataset("mnist", path)


def test_corrupt_embedded_file_says_how_to_rebuild(monkeypatch, tmp_path):
    broken = tmp_path / "mnist_10k.npz"
    broken.write_bytes(b"PK\x03\x04 truncated")
    monkeypatch.setattr(data, "EMBEDDED_MNIST", broken)
    with pytest.raises(data.DatasetError, match="build_mnist.py"):
        data.embedded_mnist()


def test_unknown_dataset_name_and_missing_path(tmp_path):
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.load_dataset("cifar10")
    with pytest.raises(data.DatasetError, match="does not exist"):
        data.load_dataset("mnist", tmp_path / "nowhere.npz")


def test_stratified_split_keeps_each_class_share():
    labels = np.repeat(np.arange(3), [10, 20, 30])
    train, test = data.stratified_split(labels, 12)
    assert np.bincount(labels[test]).tolist() == [2, 4, 6]
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 60
