"""`python -m benchmarks train`: training speed and accuracy of the three backends.

- overhead: Keras LeNet-5 epochs through bare `model.fit` against the same fit with the training
  page's callbacks (cnnviz.training's per-batch adapter -> Trainer.on_batch -> the Ray worker's
  Reporter, whose queue another thread drains, as the worker's run() does), alternated;
  throughput = best of the rounds; cost = 1 - median over rounds of (bare time / callbacks time).
- throughput: one epoch of training steps per backend (Keras fit, TF1 session, NumPy), same images
  and batch size, after a warm-up epoch; ratio to Keras.
- accuracy: Keras LeNet-5 on the embedded MNIST with the pretrained model's recipe (test accuracy,
  training seconds), the NumPy backend for 3 epochs, and Keras on full Fashion-MNIST (if installed).

Prints Markdown tables for BENCHMARKS.md; with --json, then one line of JSON with the figures.
"""

import queue
import threading
import time

import numpy as np

from benchmarks.common import argument_parser, machine, print_json_line
from cnnviz import training
from cnnviz.data.datasets import DatasetUnavailable, load_dataset
from cnnviz.training.worker import Reporter

PARTS = ("overhead", "throughput", "mnist", "numpy", "fashion")


def _epoch_data(dataset, config):
    """Training images (m, 28, 28, 1) float32 and labels (m,) of config's split, in seed order."""
    train_idx, _ = training.split_indices(len(dataset.x_train), config,
                                          np.random.default_rng(config.seed))
    return (training.as_inputs(dataset.x_train[train_idx]),
            np.asarray(dataset.y_train[train_idx], np.int64))


def _never_stop(*_) -> bool:
    return False


def _drain(reports) -> None:
    """The reading thread of the overhead benchmark: reads reports until None."""
    while reports.get() is not None:
        pass


def overhead(dataset, batch_size: int, rounds: int) -> dict:
    """Images/s of bare model.fit and of model.fit with the page's callbacks, alternated."""
    config = training.TrainConfig(backend="keras", batch_size=batch_size)
    X, y = _epoch_data(dataset, config)
    backend = training.backends.KerasBackend(config)
    Y = np.eye(10, dtype=np.float32)[y]
    reports = queue.Queue()
    receiver = threading.Thread(target=_drain, args=(reports,), daemon=True)
    receiver.start()
    trainer = training.loop.Trainer(config, dataset, [Reporter(reports)], stop=None)

    def with_callbacks():  # the path of a page run: adapter -> Trainer.on_batch -> Reporter
        trainer.epoch_start, trainer.epoch_rows = time.perf_counter(), []
        backend.train_epoch(X, y, batch_size, trainer.on_batch)

    def bare():
        backend.model.fit(X, Y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)

    bare(), with_callbacks()  # warm-up: tracing, first allocations
    times = {"bare": [], "callbacks": []}
    for _ in range(rounds):
        for name, fn in (("bare", bare), ("callbacks", with_callbacks)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    reports.put(None)
    receiver.join()
    speeds = {name: len(X) / min(t) for name, t in times.items()}
    # each round's pair ran back to back: the median of the pairs' ratios resists the load drifting
    speeds["cost"] = 1 - float(np.median(np.divide(times["bare"], times["callbacks"])))
    return speeds


def throughput(dataset, batch_size: int) -> dict:
    """Training images per second of one epoch per backend, same images and batch size."""
    speeds = {}
    for name in training.BACKENDS:
        config = training.TrainConfig(backend=name, batch_size=batch_size)
        X, y = _epoch_data(dataset, config)
        backend = training.backends.make_backend(config)
        try:
            backend.train_epoch(X[: 4 * batch_size], y[: 4 * batch_size], batch_size, _never_stop)
            start = time.perf_counter()
            backend.train_epoch(X, y, batch_size, _never_stop)
            speeds[name] = len(X) / (time.perf_counter() - start)
        finally:
            backend.close()
    return speeds


def accuracy_run(images, **settings) -> dict:
    """test accuracy, training seconds (sum of epochs) and wall time of one train() run on
    images."""
    history = training.train(training.TrainConfig(**settings), images).history
    return {"test_accuracy": history.test_accuracy,
            "train_seconds": sum(e["seconds"] for e in history.epochs),
            "wall_time": history.wall_time, "epochs": len(history.epochs),
            "images_per_second": history.images_per_second}


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("train", __doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS),
                        help="parts to run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7, help="alternated epochs for the overhead")
    parser.add_argument("--fashion-epochs", type=int, default=12)
    args = parser.parse_args(argv)
    mnist = load_dataset("mnist")
    import tensorflow as tf

    machine_line = machine(TensorFlow=tf.__version__)
    print(f"Machine: {machine_line}; dataset: {mnist.source}; batch size {args.batch_size}\n")
    figures = {"benchmark": "train", "machine": machine_line, "batch_size": args.batch_size}
    if "overhead" in args.only:
        result = overhead(mnist, args.batch_size, args.rounds)
        print(f"| Keras LeNet-5, one epoch | images/s (best of {args.rounds}) |\n|---|---:|")
        print(f"| bare model.fit | {result['bare']:,.0f} |")
        print(f"| model.fit + page callbacks | {result['callbacks']:,.0f} |")
        print(f"| callbacks' cost (median of the rounds' paired ratios) | {result['cost']:.1%} "
              "(bar: <= 5%) |\n")
        figures["overhead"] = {"bare_images_per_s": result["bare"],
                               "callbacks_images_per_s": result["callbacks"],
                               "cost_percent": 100 * result["cost"], "rounds": args.rounds}
    if "throughput" in args.only:
        speeds = throughput(mnist, args.batch_size)
        print("| backend | images/s | x Keras | bar |\n|---|---:|---:|---|")
        bars = {"keras": "", "tf1": ">= 0.8x", "numpy": ">= 0.25x"}
        for name, speed in speeds.items():
            print(f"| {name} | {speed:,.0f} | {speed / speeds['keras']:.2f} | {bars[name]} |")
        print()
        figures["images_per_s"] = speeds
    runs = []
    if "mnist" in args.only:
        runs.append(("mnist", "Keras LeNet-5, embedded MNIST, 30 epochs, augment",
                     ">= 98.0% within 60 s", mnist,
                     {"backend": "keras", "epochs": 30, "batch_size": 64, "augment": True}))
    if "numpy" in args.only:
        runs.append(("numpy", "NumPy LeNet-5, embedded MNIST, 3 epochs, batch 32", ">= 95%",
                     mnist, {"backend": "numpy", "epochs": 3, "batch_size": 32}))
    if "fashion" in args.only:
        try:
            runs.append(("fashion",
                         f"Keras LeNet-5, Fashion-MNIST (60k), {args.fashion_epochs} epochs",
                         ">= 89%", load_dataset("fashion-mnist"),
                         {"backend": "keras", "dataset": "fashion-mnist",
                          "epochs": args.fashion_epochs, "batch_size": 64}))
        except DatasetUnavailable as error:
            print(f"fashion-mnist skipped: {error}\n")
            figures["skipped"] = {"fashion": str(error)}
    if runs:
        print("| run | test accuracy | training s | wall s | images/s | bar |\n"
              "|---|---:|---:|---:|---:|---|")
    for part, label, bar, images, settings in runs:
        result = accuracy_run(images, **settings)
        print(f"| {label} | {result['test_accuracy']:.2%} | {result['train_seconds']:.1f} | "
              f"{result['wall_time']:.1f} | {result['images_per_second']:,.0f} | {bar} |",
              flush=True)
        figures.setdefault("accuracy", {})[part] = {"run": label, **result}
    if args.json:
        print_json_line(figures)
    return 0
