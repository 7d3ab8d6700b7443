"""Train LeNet-5 or a Keras variant with Keras, TF1 or cnnviz's NumPy ops, from the terminal.

`python -m cnnviz train [options]` shows a progress bar and records the run in the runs folder. Its
options are TrainConfig's fields (nanoGPT's configurator idea): each field becomes
--field-name with the field's default, help and choices; add a field to TrainConfig and it is
an option here. Four more say where things go: --out, --runs-dir, --json, and --ray-address:
with it (or $CNNVIZ_RAY_ADDRESS) the run is a Ray run on that cluster, queued behind the
app's runs, its checkpoints written here; without it, it trains in this process.
"""

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
import typing
from pathlib import Path

from cnnviz import paths
from cnnviz.data.datasets import load_dataset
from cnnviz.training.config import Callback, TrainConfig, TrainResult, format_seconds
from cnnviz.training.jobs import start_job
from cnnviz.training.loop import check_out_path, train
from cnnviz.training.runs import new_run_dir, replace_atomically
from cnnviz.training.service import ADDRESS_ENV, TrainingService


class ProgressBar(Callback):
    """Terminal progress: bar, percent, images/s, ETA, loss; redrawn at most 10 times a second."""

    def __init__(self, stream=None, width: int = 30):
        self.stream, self.width, self.last_draw = stream or sys.stderr, width, 0.0

    def on_batch_end(self, batch: int, logs: dict) -> None:
        now = time.perf_counter()
        if now - self.last_draw < 0.1 and logs["seen"] < logs["total"]:
            return
        self.last_draw = now
        done = logs["seen"] / logs["total"]
        filled = int(done * self.width)
        self.stream.write(
            f"\repoch {logs['epoch'] + 1} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{done:4.0%} "
            f"{logs['images_per_second']:6.0f} img/s  ETA {format_seconds(logs['eta'])}  "
            f"loss {logs['loss']:.3f}"
        )
        self.stream.flush()

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.stream.write(
            f"\nepoch {epoch + 1}: loss {logs['loss']:.4f} acc {logs['accuracy']:.4f} "
            f"val_loss {logs['val_loss']:.4f} val_acc {logs['val_accuracy']:.4f} "
            f"({logs['seconds']:.1f} s)\n"
        )


def summary(result: TrainResult) -> dict:
    """The --json line: per-epoch metrics, test accuracy, images per second, where things went."""
    history = result.history
    return {
        "backend": result.config.backend, "model": result.config.model,
        "dataset": result.config.dataset, "epochs": history.epochs,
        "test_accuracy": history.test_accuracy, "test_loss": history.test_loss,
        "images_per_second": history.images_per_second, "wall_time": history.wall_time,
        "stopped": history.stopped,
        "model_path": str(result.model_path) if result.model_path else None,
        "run_dir": str(result.run_dir) if result.run_dir else None,
    }


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One --option per TrainConfig field whose metadata says cli (underscores become dashes)."""
    for field in dataclasses.fields(TrainConfig):
        if not field.metadata.get("cli", True):
            continue
        flag, help_text = f"--{field.name.replace('_', '-')}", field.metadata.get("help")
        if field.type is bool:  # False by default: the flag turns it on
            parser.add_argument(flag, action="store_true", help=help_text)
            continue
        value_type = next(
            t for t in (*typing.get_args(field.type), field.type) if t is not type(None)
        )
        parser.add_argument(flag, type=value_type, default=field.default, help=help_text,
                            choices=field.metadata.get("choices"))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cnnviz train",
                                     description=__doc__.split("\n")[0])
    add_config_options(parser)
    parser.add_argument("--out", type=Path, default=None,
                        help="where to save the model: .keras (keras) or .npz (tf1, numpy)")
    parser.add_argument("--runs-dir", type=Path, default=paths.runs_dir(),
                        help="folder that keeps every run's history and checkpoints")
    parser.add_argument("--json", action="store_true",
                        help="print a one-line JSON summary at the end")
    parser.add_argument("--ray-address", default=os.environ.get(ADDRESS_ENV) or None,
                        help=f"train on this Ray cluster (default ${ADDRESS_ENV}; unset: here)")
    return parser.parse_args(argv)


class RunEnded(Exception):
    """A Ray run that ended without a result: its message."""


def waiting_news(live: dict, address: str) -> str | None:
    """What a run that has not started yet is waiting for (a job's standing())."""
    if live["phase"] == "starting":  # the service's notice: slow to start, or unreachable
        return live.get("service") or f"joining the Ray cluster at {address}…"
    if live["phase"] == "queued" and live["place"]:
        return (f"waiting for a free training slot: place {live['place']}, "
                f"about {format_seconds(live['starts_in'])}")
    return None


def train_on_ray(config: TrainConfig, dataset, run_dir: Path, address: str) -> TrainResult:
    """config as a run on the Ray cluster at address, followed here until it ends (Ctrl-C stops
    it, or leaves the queue); RunEnded when it fails or never starts."""
    job = start_job(config, dataset, run_dir, [ProgressBar()], TrainingService(address))
    told = None
    try:
        while not job.done:
            job.join(0.5)
            news = waiting_news(job.standing(), address)
            if news and news != told:
                print(news, file=sys.stderr)
                told = news
    except KeyboardInterrupt:
        job.stop()
        job.join()
    if job.result is None:
        raise RunEnded(job.error or "left the training queue before the run started")
    return job.result


def main(argv: list[str] | None = None) -> int:
    args = vars(parse_args(sys.argv[1:] if argv is None else argv))
    out, runs_dir, print_json = args.pop("out"), args.pop("runs_dir"), args.pop("json")
    address = args.pop("ray_address")
    config = TrainConfig(**args)
    try:
        check_out_path(config.validate(), out)
        dataset = load_dataset(config.dataset)
        if address:
            result = train_on_ray(config, dataset, new_run_dir(config, runs_dir), address)
        else:
            result = train(config, dataset, [ProgressBar()], run_dir=new_run_dir(config, runs_dir),
                           out=out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RunEnded as ended:
        print(f"\nerror: {ended}", file=sys.stderr)
        return 1
    if address and out is not None:
        replace_atomically(out, lambda temp: shutil.copyfile(result.model_path, temp))
        result = dataclasses.replace(result, model_path=Path(out))
    print(f"test accuracy {result.history.test_accuracy:.4f}, "
          f"{result.history.images_per_second:.0f} images/s, model {result.model_path}",
          file=sys.stderr)
    if print_json:
        print(json.dumps(summary(result)))
    return 0
