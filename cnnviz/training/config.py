"""What a run is: its settings (TrainConfig), what it returns (History, TrainResult), how to follow
it (Callback), and the backend and model registries every other room reads.

A leaf: imports nothing else from cnnviz.training. Each TrainConfig field is declared once, with
its default and, in its metadata, the help and choices the command line shows (cnnviz.training.cli
builds its options from them).
"""

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.data.datasets import CLASS_NAMES

BACKENDS = {"keras": "Keras", "tf1": "TensorFlow 1 graph", "numpy": "NumPy (cnnviz.ops)"}  # label


@dataclass(frozen=True)
class ModelSpec:
    """A trainable model: its label, the backends that build it, and whether its weights have
    cnnviz.lenet's layout (then it starts from lenet.init_params and the Draw page reads it)."""

    label: str
    backends: tuple[str, ...]
    lenet_layout: bool


MODELS = {
    "lenet5": ModelSpec("LeNet-5", tuple(BACKENDS), lenet_layout=True),
    "lenet5-dropout": ModelSpec("LeNet-5 + dropout 0.5", ("keras",), lenet_layout=True),
    "lenet5-batchnorm": ModelSpec("LeNet-5 + batch norm", ("keras",), lenet_layout=False),
    "mlp": ModelSpec("MLP 784-128-64-10 (homework)", ("keras",), lenet_layout=False),
    "mlp-lecture": ModelSpec("MLP 784-512-512-10 (lecture)", ("keras",), lenet_layout=False),
    "cnn-mnist": ModelSpec("CNN 32-64 for MNIST (lecture)", ("keras",), lenet_layout=False),
    "lenet5-homework": ModelSpec("LeNet-5 with conv 120 (homework)", ("keras",),
                                 lenet_layout=False),
}


def models_for(backend: str) -> tuple[str, ...]:
    """Names of the models `backend` trains, in MODELS' order."""
    return tuple(name for name, spec in MODELS.items() if backend in spec.backends)


def option(default, help: str, choices=None, cli: bool = True):
    """A TrainConfig field: its default, and how the command line offers it."""
    return field(default=default, metadata={"help": help, "choices": choices, "cli": cli})


@dataclass
class TrainConfig:
    """What to train and how; `validate()` raises ValueError naming the bad field."""

    backend: str = option("keras", "what trains the network", choices=tuple(BACKENDS))
    model: str = option("lenet5", "Keras backend only; TF1 and NumPy train lenet5",
                        choices=tuple(MODELS))
    dataset: str = option("mnist", "images to train and test on (cnnviz.data.load_dataset)",
                          choices=tuple(CLASS_NAMES))
    epochs: int = option(3, "passes over the training images")
    batch_size: int = option(64, "images per training step")
    learning_rate: float = option(0.001, "Adam's learning rate")
    limit: int | None = option(None, "training images used, validation included (default all)")
    validation_fraction: float = option(0.1, "held out of the training images, seeded", cli=False)
    seed: int = option(0, "initial weights, validation split and batch order")
    augment: bool = option(False, "random shifts of up to 2 pixels, redrawn every epoch")

    def validate(self) -> "TrainConfig":
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {tuple(BACKENDS)}, got {self.backend!r}")
        models = models_for(self.backend)
        if self.model not in models:
            raise ValueError(f"model must be one of {models} for the {self.backend} backend, "
                             f"got {self.model!r}")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 2):
            raise ValueError(f"limit must be None or an integer >= 2, got {self.limit!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        return self

    @property
    def model_suffix(self) -> str:
        return ".keras" if self.backend == "keras" else ".npz"


@dataclass
class History:
    """Per-batch and per-epoch metrics of one run, JSON-serialisable.

    batches: {"epoch", "batch", "loss", "accuracy", "size"} per batch; epochs: {"epoch", "loss",
    "accuracy", "val_loss", "val_accuracy", "seconds", "images_per_second"} per finished epoch.
    """

    batches: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    test_loss: float | None = None
    test_accuracy: float | None = None
    test_predictions: list[int] | None = None  # predicted class of every test image
    wall_time: float = 0.0  # seconds, evaluation and saving included
    images_per_second: float = 0.0  # training images per second of training steps
    stopped: bool = False

    def to_csv(self, level: str = "epoch") -> str:
        """The "epoch" or "batch" rows as CSV text."""
        rows = {"epoch": self.epochs, "batch": self.batches}[level]
        columns = list(rows[0]) if rows else ["epoch"]
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(**data)


@dataclass
class TrainResult:
    """What train() returns (and a job's result)."""

    config: TrainConfig
    history: History
    model_path: Path | None  # the saved model (run_dir or out), None when nothing was saved
    run_dir: Path | None


class Callback:
    """Base class: override the hooks you need. logs are plain dicts of floats (and arrays).

    on_batch_end's logs: epoch, batch, loss, accuracy, size, seen and total (images), elapsed and
    eta (seconds), images_per_second. on_epoch_end's: History.epochs' row plus first_layer.
    """

    def on_train_begin(self, logs: dict) -> None: ...

    def on_batch_end(self, batch: int, logs: dict) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...

    def on_train_end(self, logs: dict) -> None: ...


def format_seconds(seconds: float) -> str:
    """3725 -> '1:02:05', 65 -> '1:05'."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
