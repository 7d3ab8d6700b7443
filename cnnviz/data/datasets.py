"""Datasets: real MNIST that ships with the project, the full MNIST and Fashion-MNIST when present.

Every loader returns a `Dataset` of uint8 images (n, 28, 28) and integer labels (n,). A corrupt or
truncated file raises `DatasetError` naming the file (never a silent fallback to other data); a
missing optional dataset raises `DatasetUnavailable` saying how to get it.
"""

import gzip
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz import paths

DATA_DIR = paths.DATA_DIR
EMBEDDED_MNIST = DATA_DIR / "mnist_10k.npz"
KERAS_CACHE = Path.home() / ".keras" / "datasets"
FASHION_DIRS = (DATA_DIR / "fashion-mnist", Path("/usr/share/datasets/fashion-mnist"))
EMBEDDED_TEST_SIZE = 2000  # of the 10,000 embedded digits; the other 8,000 train
EMBEDDED_ORDER_SEED = 0  # the file is grouped by class; each split is shuffled once, always alike

IDX_FILES = {  # field -> IDX file name (optionally with .gz)
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}


class DatasetError(ValueError):
    """A dataset file is corrupt, truncated or not in a known layout."""


class DatasetUnavailable(DatasetError):
    """An optional dataset is not installed; the message says how to get it."""


@dataclass(frozen=True)
class Dataset:
    """Images uint8 (n, 28, 28) and labels (n,), split into train and test (and valid if the
    file has one); `source` says where they came from, for the UI."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    x_valid: np.ndarray | None = None
    y_valid: np.ndarray | None = None

    @property
    def class_names(self) -> list[str]:
        return CLASS_NAMES[self.name]


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file (gzipped or not): uint8 images (n, h, w) or labels (n,)."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path} cannot be read ({error}); download it again") from error
    if len(raw) < 4 or raw[0:2] != b"\0\0" or raw[2] != 0x08 or raw[3] not in (1, 3):
        raise DatasetError(f"{path} is not an IDX file of unsigned bytes (bad header)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DatasetError(f"{path} is truncated (its header is incomplete)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = 4 + 4 * ndim + int(np.prod(shape))
    if len(raw) != expected:
        raise DatasetError(
            f"{path} is truncated or corrupt: its header promises {expected} bytes, "
            f"it has {len(raw)}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path | None:
    return next((p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()), None)


def _idx_dataset(name: str, folder: Path) -> Dataset | None:
    """The dataset in `folder`'s four IDX files, or None when one of them is missing."""
    files = {field: _find_idx(folder, stem) for field, stem in IDX_FILES.items()}
    if None in files.values():
        return None
    arrays = {field: read_idx(path) for field, path in files.items()}
    return _checked(Dataset(name=name, source=f"IDX files in {folder}", **arrays), folder)


def _as_images(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    """uint8 (n, 28, 28) from uint8 or [0, 1] floats, flat (n, 784) or square (n, 28, 28)."""
    if array.ndim == 2 and array.shape[1] == 784:
        array = array.reshape(-1, 28, 28)
    if array.ndim != 3 or array.shape[1:] != (28, 28):
        raise DatasetError(
            f"{path}: {key} has shape {array.shape}; expected (n, 28, 28) or (n, 784)"
        )
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating) or array.min() < 0 or array.max() > 1:
            raise DatasetError(
                f"{path}: {key} must be uint8 or floats in [0, 1], got {array.dtype}"
            )
        array = np.rint(array * 255).astype(np.uint8)
    return array


def _as_labels(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    """Integer labels (n,) from integers or one-hot rows (n, 10)."""
    if array.ndim == 2 and array.shape[1] == 10:
        array = array.argmax(axis=1)
    whole = np.issubdtype(array.dtype, np.integer) or (
        np.issubdtype(array.dtype, np.floating) and np.all(array == np.rint(array))
    )
    if array.ndim != 1 or not whole:
        raise DatasetError(f"{path}: {key} must be integer labels (n,) or one-hot (n, 10)")
    return array.astype(np.int64)


NPZ_LAYOUTS = {  # field -> key in the file, for Keras' mnist.npz and the course's MNIST.npz
    "keras": {"x_train": "x_train", "y_train": "y_train", "x_test": "x_test", "y_test": "y_test"},
    "course": {"x_train": "X_train", "y_train": "Y_train", "x_valid": "X_valid",
               "y_valid": "Y_valid", "x_test": "X_test", "y_test": "Y_test"},
}


def read_npz(path: Path, name: str = "mnist") -> Dataset:
    """A dataset from Keras' `mnist.npz` layout or the course's `MNIST.npz` layout."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            layout = next((k for k, lay in NPZ_LAYOUTS.items() if set(lay.values()) <= keys), None)
            if layout is None:
                raise DatasetError(
                    f"{path} holds {sorted(keys)}; "
                    f"expected Keras' x_train, y_train, x_test, y_test "
                    f"or the course's X_train, Y_train, X_valid, Y_valid, X_test, Y_test"
                )
            fields = {field: archive[key] for field, key in NPZ_LAYOUTS[layout].items()}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        if isinstance(error, DatasetError):
            raise
        raise DatasetError(f"{path} is not a readable .npz file ({error})") from error
    arrays = {
        field: _as_images(a, path, field) if field.startswith("x") else _as_labels(a, path, field)
        for field, a in fields.items()
    }
    return _checked(Dataset(name=name, source=f"{path}", **arrays), path)


def _checked(dataset: Dataset, origin: Path) -> Dataset:
    """The dataset, once images and labels pair up and labels are in 0..9."""
    for split in ("train", "valid", "test"):
        x, y = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
        if x is None:
            continue
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(
                f"{origin}: {split} images {x.shape} and labels {y.shape} do not pair up "
                f"as (n, 28, 28) and (n,)"
            )
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DatasetError(f"{origin}: {split} labels must be 0..9")
    return dataset


def stratified_split(labels: np.ndarray, test_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): each class gives the test set its share of `test_size` (largest
    remainders round it), taken evenly spaced through the class's original order."""
    classes, counts = np.unique(labels, return_counts=True)
    quotas = counts * test_size / len(labels)
    per_class = np.floor(quotas).astype(int)
    per_class[np.argsort(per_class - quotas)[: test_size - per_class.sum()]] += 1
    test = []
    for label, count, quota in zip(classes, counts, per_class):
        members = np.flatnonzero(labels == label)
        test.append(members[((np.arange(quota) + 0.5) * count / quota).astype(int)])
    test = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(labels)), test), test


def embedded_mnist() -> Dataset:
    """The 10,000 MNIST digits that ship in data/mnist_10k.npz, split 8,000 / 2,000 (stratified).

    The file holds the digits grouped by class; each split comes in a fixed mixed order, as real
    MNIST does, so that a slice such as x_train[:3000] holds every class.
    """
    try:
        with np.load(EMBEDDED_MNIST, allow_pickle=False) as archive:
            x, y = archive["x"], archive["y"].astype(np.int64)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DatasetError(
            f"{EMBEDDED_MNIST} cannot be read ({error}); rebuild it with scripts/build_mnist.py"
        ) from error
    train, test = stratified_split(y, EMBEDDED_TEST_SIZE)
    rng = np.random.default_rng(EMBEDDED_ORDER_SEED)
    train, test = rng.permutation(train), rng.permutation(test)
    source = "the 10,000 MNIST digits that ship with cnnviz (8,000 train / 2,000 test)"
    return _checked(Dataset("mnist", x[train], y[train], x[test], y[test], source), EMBEDDED_MNIST)


def _full_mnist() -> Dataset | None:
    for npz in (DATA_DIR / "mnist.npz", KERAS_CACHE / "mnist.npz"):
        if npz.is_file():
            return read_npz(npz)
    return _idx_dataset("mnist", DATA_DIR / "mnist")


def load_dataset(name: str, path: str | os.PathLike | None = None) -> Dataset:
    """Dataset `name` ("mnist" or "fashion-mnist"), or the .npz file or IDX folder at `path`."""
    if name not in CLASS_NAMES:
        raise ValueError(f"dataset must be one of {sorted(CLASS_NAMES)}, got {name!r}")
    if path is not None:
        path = Path(path)
        if path.is_dir():
            found = _idx_dataset(name, path)
            if found is None:
                raise DatasetError(
                    f"{path} lacks one of the IDX files {sorted(IDX_FILES.values())}"
                )
            return found
        if not path.is_file():
            raise DatasetError(f"{path} does not exist")
        return read_npz(path, name)
    if name == "mnist":
        return _full_mnist() or embedded_mnist()
    for folder in FASHION_DIRS:
        found = _idx_dataset(name, folder)
        if found is not None:
            return found
    raise DatasetUnavailable(
        "Fashion-MNIST is not installed: on Debian/Ubuntu run `sudo apt-get install "
        "dataset-fashion-mnist`, or put its four IDX files in data/fashion-mnist/"
    )


def available_datasets() -> list[str]:
    """Names of the datasets load_dataset can read on this machine ("mnist" always)."""
    fashion = any(all(_find_idx(f, s) for s in IDX_FILES.values()) for f in FASHION_DIRS)
    return ["mnist", "fashion-mnist"] if fashion else ["mnist"]
