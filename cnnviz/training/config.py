"""What a run is: its settings (TrainConfig), what it returns (History, TrainResult), how to follow
it (Callback), and the backend and model registries every other room reads (the models are
cnnviz.networks.presets.TRAINING_MODELS).

A leaf: imports nothing else from cnnviz.training. Each TrainConfig field is declared once, with
its default and, in its metadata, the help and choices the command line shows (cnnviz.training.cli
builds its options from them).
"""

import csv
import io
from dataclasses import dataclass, field, fields
from pathlib import Path

from cnnviz.data.datasets import CLASS_NAMES
from cnnviz.data.splits import VALIDATION_FRACTION
from cnnviz.networks.presets import TRAINING_MODELS

BACKENDS = {"keras": "Keras", "tf1": "TensorFlow 1 graph", "numpy": "NumPy (cnnviz.ops)"}  # label


# The models are declared once, with the networks (cnnviz.networks.presets): the lower floor, so
# the checker and the figures read them without importing training (and its Ray jobs).
MODELS = TRAINING_MODELS  # name -> TrainingModel(label, network, backends, lenet_layout)


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
    validation_fraction: float = option(VALIDATION_FRACTION, "held out of the training images, "
                                        "seeded", cli=False)
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
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )
        return self

    @property
    def model_suffix(self) -> str:
        return ".keras" if self.backend == "keras" else ".npz"


FIELDS = {option.name: option for option in fields(TrainConfig)}  # each one's default and metadata


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
