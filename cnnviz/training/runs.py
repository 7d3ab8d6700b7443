"""The runs folder: where a run's record and model live, how they are written and read.

A run folder, root/<UTC start>-<backend>-<model>-<dataset>-<token> (new_run_dir), holds run.json
(config, status, error, model file, history, who writes it, and the times the training queue
reads: submitted, started, expected_seconds, eta_at) and the model (`model.keras`, or
`model.npz` in cnnviz.lenet's format), both rewritten after every epoch, each atomically (temp
file + os.replace), so a stop or a crash loses at most the current epoch. The process that writes
a record is named in it ("owner": host, pid and start time); load_run calls a "queued" or
"running" record whose owner is gone "interrupted" — so every server replica sharing the folder
agrees on which runs are live. A write that fails (the folder full, read-only, gone) raises
RunsFolderError naming the runs folder; the files written before stay whole.
"""

import contextlib
import json
import os
import secrets
import socket
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from cnnviz import paths
from cnnviz.training.config import History, TrainConfig, TrainResult

RUN_STAMP = "%Y%m%d-%H%M%S"  # a run folder's name starts with its UTC start time, 15 characters
LIVE_STATUSES = ("queued", "running")  # a run waiting for a training slot, or training


def _started_ticks(pid: int) -> int | None:
    """When process pid started, in clock ticks after boot (Linux /proc); None if unknown."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def this_process() -> dict:
    """The owner of the records this process writes: host, pid, and the pid's start time."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": _started_ticks(os.getpid())}


def owner_alive(owner: dict | None) -> bool:
    """Is the process that wrote a record still there? True when it runs on another host (this
    one cannot tell); False for records that name no owner."""
    if not owner:
        return False
    if owner.get("host") != socket.gethostname():
        return True
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    return _started_ticks(owner["pid"]) in (owner.get("since"), None)  # not a reused pid


class RunsFolderError(OSError):
    """A runs folder cannot be written (full, read-only, missing): the message names it."""


@contextlib.contextmanager
def writing_into(root: Path):
    """Turn an OSError of the writes inside into a RunsFolderError naming the runs folder root."""
    try:
        yield
    except RunsFolderError:
        raise
    except OSError as error:
        reason = error.strerror or str(error)
        raise RunsFolderError(f"the runs folder {root} cannot be written ({reason})") from error


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
    root = Path(root or paths.runs_dir())
    with writing_into(root):
        (root / name).mkdir(parents=True)
    return root / name


def model_meta(config: TrainConfig, history: History) -> dict:
    """What a saved model records about its run (lenet.save_params' meta)."""
    return {"config": asdict(config), "test_accuracy": history.test_accuracy,
            "epochs_done": len(history.epochs)}


class RunRecorder:
    """Writes run.json and the model file of one run into run_dir, atomically.

    facts: more fields of run.json (submitted, started, expected_seconds, eta_at, worker), kept
    from one write to the next and updated by the later writes' facts.
    """

    def __init__(self, run_dir: Path, config: TrainConfig, status: str = "running", **facts):
        self.run_dir, self.config = Path(run_dir), config
        self.model_path = self.run_dir / f"model{config.model_suffix}"
        self.facts = {"owner": this_process(), **facts}
        self.write_status(status, History())

    def write_status(self, status: str, history: History, error: str | None = None,
                     **facts) -> None:
        self.facts.update(facts)
        record = {"config": asdict(self.config), "status": status, "error": error,
                  "model_file": self.model_path.name if self.model_path.exists() else None,
                  "history": asdict(history), **self.facts}
        with writing_into(self.run_dir.parent):
            write_text_atomically(self.run_dir / "run.json", json.dumps(record))

    def checkpoint(self, backend, history: History, status: str) -> Path:
        """backend.save the model with its meta, then record status; returns the model's path."""
        meta = {**model_meta(self.config, history), "run": self.run_dir.name}
        backend.save(self.model_path, meta)
        self.write_status(status, history)
        return self.model_path

    def write_model(self, model: bytes, history: History, status: str, **facts) -> Path:
        """A checkpoint a training worker shipped (a model file's bytes), then status."""
        with writing_into(self.run_dir.parent):
            replace_atomically(self.model_path, lambda temp: Path(temp).write_bytes(model))
        self.write_status(status, history, **facts)
        return self.model_path


@dataclass
class SavedRun:
    """A run read back from the runs folder."""

    run_dir: Path
    config: TrainConfig
    status: str  # "queued", "running", "finished", "stopped", "failed" or "interrupted"
    history: History
    model_path: Path | None
    error: str | None = None

    @classmethod
    def of_result(cls, result: TrainResult) -> "SavedRun":
        """The run a recorded result (its run_dir set) saved, as load_run would read it back,
        without reading it: "stopped" or "finished", the result's own history and model."""
        status = "stopped" if result.history.stopped else "finished"
        return cls(Path(result.run_dir), result.config, status, result.history, result.model_path)

    def summary(self) -> "SavedRun":
        """The run without its per-batch rows and test predictions, which its folder keeps
        (load_run reads them back): what a list of runs holds of each. A 100-epoch run's batch
        rows are ~2.8 MB in memory, its summary's epochs a hundredth of that. Not for showing
        the run's results (its test_predictions are None here whether it was tested or not)."""
        return replace(self, history=replace(self.history, batches=[], test_predictions=None))

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


def read_record(run_dir) -> dict:
    """run_dir's run.json as it is; ValueError when it is missing or unreadable."""
    try:
        return json.loads((Path(run_dir) / "run.json").read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"run_dir {run_dir} holds no readable run.json ({error})") from error


def live_status(record: dict) -> str:
    """The record's status, "interrupted" when it says queued or running but its owner is gone."""
    status = record["status"]
    if status in LIVE_STATUSES and not owner_alive(record.get("owner")):
        return "interrupted"
    return status


def load_run(run_dir) -> SavedRun:
    """The run saved in run_dir; ValueError when its run.json is missing or unreadable."""
    run_dir = Path(run_dir)
    record = read_record(run_dir)
    try:
        config = TrainConfig(**record["config"])
        history = History.from_dict(record["history"])
        status = live_status(record)  # killed, or its server stopped: the last checkpoint remains
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"run_dir {run_dir} holds no readable run.json ({error})") from error
    model_path = run_dir / record["model_file"] if record.get("model_file") else None
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


_SUMMARIES: dict[Path, tuple[tuple[int, int], SavedRun]] = {}  # run.json -> (stamp, summary)
_SUMMARIES_LOCK = threading.Lock()


def list_run_summaries(root=None) -> list[SavedRun]:
    """list_runs(root) as summaries (SavedRun.summary). A run.json is parsed once per process
    while it is unchanged (size, modification time) and its run is over: a page that lists the
    folder on every rerun does not read every run's history again each time."""
    root = Path(root or paths.runs_dir())
    runs, seen = [], set()
    for record in sorted(root.glob("*/run.json"), reverse=True):
        try:
            stat = record.stat()
        except OSError:
            continue  # removed meanwhile
        stamp, seen = (stat.st_mtime_ns, stat.st_size), seen | {record}
        with _SUMMARIES_LOCK:
            cached = _SUMMARIES.get(record)
        if cached is not None and cached[0] == stamp:
            runs.append(cached[1])
            continue
        try:
            summary = load_run(record.parent).summary()
        except ValueError:
            continue  # a half-written or foreign folder is not a run
        if summary.status not in LIVE_STATUSES:  # a live run's owner may die without a write
            with _SUMMARIES_LOCK:
                _SUMMARIES[record] = (stamp, summary)
        runs.append(summary)
    with _SUMMARIES_LOCK:
        for record in [known for known in _SUMMARIES if known.parent.parent == root]:
            if record not in seen:
                del _SUMMARIES[record]
    return runs
