"""The runs folder: where a run's record and model live, how they are written, and how they are read.

A run folder, root/<UTC start>-<backend>-<model>-<dataset>-<token> (new_run_dir), holds run.json
(config, status, error, model file, history) and the model (`model.keras`, or `model.npz` in
cnnviz.lenet's format), both rewritten after every epoch, each atomically (temp file + os.replace),
so a stop or a crash loses at most the current epoch. ACTIVE_RUNS knows which "running" records
this process is still writing; load_run calls the others "interrupted".
"""

import json
import os
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cnnviz import paths
from cnnviz.training.config import History, TrainConfig

RUN_STAMP = "%Y%m%d-%H%M%S"  # a run folder's name starts with its UTC start time, 15 characters


class ActiveRuns:
    """Run folders this process is training, or following a child process train, right now."""

    def __init__(self):
        self._run_dirs: set[Path] = set()

    def add(self, run_dir) -> None:
        if run_dir is not None:
            self._run_dirs.add(Path(run_dir).resolve())

    def discard(self, run_dir) -> None:
        if run_dir is not None:
            self._run_dirs.discard(Path(run_dir).resolve())

    def __contains__(self, run_dir) -> bool:
        return Path(run_dir).resolve() in self._run_dirs


ACTIVE_RUNS = ActiveRuns()


def replace_atomically(path: Path, write) -> None:
    """write(temp_path) next to path, then os.replace it onto path (temp keeps path's suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(temp)
        os.chmod(temp, 0o644)  # mkstemp makes 0600 files; a model is meant to be shared
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str) -> None:
    replace_atomically(path, lambda temp: Path(temp).write_text(text))


def new_run_dir(config: TrainConfig, root=None) -> Path:
    """A fresh folder root/<UTC time>-<backend>-<model>-<dataset>-<token> (created)."""
    stamp = time.strftime(RUN_STAMP, time.gmtime())
    name = f"{stamp}-{config.backend}-{config.model}-{config.dataset}-{secrets.token_hex(3)}"
    run_dir = Path(root or paths.runs_dir()) / name
    run_dir.mkdir(parents=True)
    return run_dir


def model_meta(config: TrainConfig, history: History) -> dict:
    """What a saved model records about its run (lenet.save_params' meta)."""
    return {"config": asdict(config), "test_accuracy": history.test_accuracy,
            "epochs_done": len(history.epochs)}


class RunRecorder:
    """Writes run.json and the model file of one run into run_dir, atomically."""

    def __init__(self, run_dir: Path, config: TrainConfig):
        self.run_dir, self.config = Path(run_dir), config
        self.model_path = self.run_dir / f"model{config.model_suffix}"
        self.write_status("running", History())

    def write_status(self, status: str, history: History, error: str | None = None) -> None:
        record = {"config": asdict(self.config), "status": status, "error": error,
                  "model_file": self.model_path.name if self.model_path.exists() else None,
                  "history": asdict(history)}
        write_text_atomically(self.run_dir / "run.json", json.dumps(record))

    def checkpoint(self, backend, history: History, status: str) -> Path:
        """backend.save the model with its meta, then record status; returns the model's path."""
        backend.save(self.model_path, {**model_meta(self.config, history), "run": self.run_dir.name})
        self.write_status(status, history)
        return self.model_path


@dataclass
class SavedRun:
    """A run read back from the runs folder."""

    run_dir: Path
    config: TrainConfig
    status: str  # "running" (in this process), "finished", "stopped", "failed" or "interrupted"
    history: History
    model_path: Path | None
    error: str | None = None

    @property
    def started(self) -> datetime | None:
        """UTC start time, read from the folder's name (None if new_run_dir did not name it)."""
        try:
            return datetime.strptime(self.run_dir.name[:15], RUN_STAMP).replace(tzinfo=UTC)
        except ValueError:
            return None

    @property
    def token(self) -> str:
        """The random end of the folder's name: tells apart runs started in the same second."""
        return self.run_dir.name.rsplit("-", 1)[-1]


def load_run(run_dir) -> SavedRun:
    """The run saved in run_dir; ValueError when its run.json is missing or unreadable."""
    run_dir = Path(run_dir)
    try:
        record = json.loads((run_dir / "run.json").read_text())
        config = TrainConfig(**record["config"])
        history = History.from_dict(record["history"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"run_dir {run_dir} holds no readable run.json ({error})") from error
    model_path = run_dir / record["model_file"] if record.get("model_file") else None
    status = record["status"]
    if status == "running" and run_dir not in ACTIVE_RUNS:
        status = "interrupted"  # killed, or its server stopped: the last epoch's checkpoint remains
    return SavedRun(run_dir, config, status, history, model_path, record.get("error"))


def list_runs(root=None) -> list[SavedRun]:
    """Readable runs under root (default: the repository's runs/), newest first."""
    root = Path(root or paths.runs_dir())
    runs = []
    for run_dir in sorted(root.glob("*/run.json"), reverse=True):
        try:
            runs.append(load_run(run_dir.parent))
        except ValueError:
            continue  # a half-written or foreign folder is not a run
    return runs
