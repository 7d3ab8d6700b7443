"""Training LeNet-5 (and Keras variants) with Keras, TF1 or cnnviz's NumPy ops: what pages,
benchmarks and the command line use.

Rooms, imported one way (cli -> jobs -> following -> queueing -> service -> waiting -> runs;
jobs, worker -> loop -> backends -> runs -> config; following -> recording -> runs; following,
worker -> reports -> config; models by backends): config (TrainConfig, History, registries),
models (the Keras models by name), backends (one protocol, three frameworks), runs (the runs
folder), loop (train, Trainer), jobs (the page's runs, on Ray: a Job composed of queueing's
place in Ray's queue, following's replay of the worker's reports and recording's writes into
the runs folder), worker (a run inside a Ray worker), reports (what of a History a report
carries), service (the Ray cluster), waiting (a waiting run's place), cli (`cnnviz train`).
"""

from cnnviz.training import backends, jobs, loop, runs, service
from cnnviz.training.config import (
    BACKENDS,
    MODELS,
    Callback,
    History,
    TrainConfig,
    TrainResult,
    format_seconds,
    models_for,
)
from cnnviz.training.jobs import Job, start_job
from cnnviz.training.loop import as_inputs, split_indices, train
from cnnviz.training.runs import SavedRun, list_run_summaries, list_runs, load_run, new_run_dir

__all__ = [
    "BACKENDS", "MODELS", "Callback", "History", "Job", "SavedRun",
    "TrainConfig", "TrainResult", "as_inputs", "backends", "format_seconds", "jobs",
    "list_run_summaries", "list_runs", "load_run", "loop", "models_for", "new_run_dir", "runs",
    "service", "split_indices", "start_job", "train",
]
