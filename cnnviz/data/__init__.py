"""What goes into the networks: the datasets (MNIST, Fashion-MNIST) and their splits, a drawing
made MNIST-like, and uploaded images.

`cnnviz.data` keeps its documented names: `load_dataset`, `Dataset`, `CLASS_NAMES`, ... are
`cnnviz.data.datasets`'.
"""

from cnnviz.data.datasets import (
    CLASS_NAMES,
    EMBEDDED_MNIST,
    Dataset,
    DatasetError,
    DatasetUnavailable,
    available_datasets,
    load_dataset,
    read_idx,
    read_npz,
)

__all__ = ["CLASS_NAMES", "EMBEDDED_MNIST", "Dataset", "DatasetError", "DatasetUnavailable",
           "available_datasets", "load_dataset", "read_idx", "read_npz"]
