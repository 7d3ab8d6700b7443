"""Run a student's file in its own process, with a time limit and a memory limit.

The child is a fresh `python -I cnnviz/check/child.py ...` in its own session (so a time-out kills
everything it started), with RLIMIT_AS, RLIMIT_CPU and RLIMIT_FSIZE set by the child on itself,
one BLAS thread, and a lower CPU priority than the server (CHILD_NICENESS, as training workers).
Cases go in and results come back as .npz files of plain arrays in a temporary folder, read with
allow_pickle=False: nothing from the student's process is unpickled. What it prints comes through
pipes, read up to MAX_OUTPUT_BYTES (then it is killed). With sandbox=True the child runs in
cnnviz.check.sandbox (bubblewrap) instead of as the caller. Task 5 (a Keras model) runs
`keras_child.py` the same way (run_model); a plain JSON description comes back, then a training
record. Task 4 (a TensorFlow-1 graph) runs `tf1_child.py` (run_tf1) alike.
"""

import dataclasses
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.check.cases import RETURNS, TASKS, Case

CHILD = Path(__file__).resolve().parent / "child.py"
POLL_SECONDS = 0.02
TAIL_CHARS = 2000  # of the child's stderr, shown when it dies without a word
MAX_OUTPUT_BYTES = 16 * 2**20  # printed by the child, on stdout or stderr each
DRAIN_SECONDS = 2.0
KERAS_CHILD = CHILD.with_name("keras_child.py")  # task 5's: it imports TensorFlow
KERAS_IMPORT_SECONDS = 120.0  # the grader's own import of Keras: seconds, more on a busy server
KERAS_MEMORY_MB = 2048  # TensorFlow and LeNet-5 took 1.5 GiB of address space; 1 GiB failed
MAX_MODEL_BYTES = 1 << 20  # a description of LeNet-5 is about 3 KiB
TF1_CHILD = CHILD.with_name("tf1_child.py")  # task 4's: it imports TensorFlow and trains
TRAIN_SECONDS = 120.0  # tasks 4 and 5's training: seconds alone, tens on a busy server
CHILD_KINDS = ("ok", "import", "missing", "exception", "memory", "return")  # child.py writes
MAX_CASE_SETS = 64  # sets of shared cases whose input files are kept (a few KiB to 1 MiB each)
_CASE_FILES: dict[tuple[int, ...], tuple[list[Case], dict[str, bytes]]] = {}
_CASE_FILES_LOCK = threading.Lock()
CHILD_NICENESS = 10  # as training workers: a graded child yields the CPU to the server's pages


@dataclass(frozen=True)
class Outcome:
    """How a call went. kind: "ok" (outputs set), or what went wrong: "import", "missing",
    "exception", "memory", "return", "timeout", "output" (printed too much), "crash",
    "not run"."""

    kind: str
    outputs: tuple[np.ndarray, ...] | None = None
    message: str = ""
    traceback: str = ""


@dataclass(frozen=True)
class Run:
    """setup: the import's Outcome (kind "ok" when the function was found); per case name, how the
    call went. What the student's code prints is not shown."""

    setup: Outcome
    outcomes: dict[str, Outcome]


@dataclass(frozen=True)
class ModelRun:
    """Task 5's run (task 4's alike). setup: the import's Outcome; built: lenet5(X)'s ("ok" when
    `model`, the description keras_child wrote, is set); step: the last step the child began
    ("keras", "import", "build" or "train"; task 4's first is "tf"). Given training data:
    trained, how the training went ("ok" when `training`, the accuracy the child's train()
    reached, is set)."""

    setup: Outcome
    built: Outcome
    model: dict | None = None
    step: str = "build"
    trained: Outcome = Outcome("not run")
    training: dict | None = None


def run_solution(path: Path, function: str, cases: list[Case], *, timeout: float = 20.0,
                 memory_mb: int = 2048, sandbox: bool = False) -> Run:
    """Call `function` of the file at `path` on every case in one child process.

    timeout: seconds allowed for the import and for each case; memory_mb: the child's address
    space; sandbox: run the child in cnnviz.check.sandbox (check `sandbox.available()` first).
    A case that times out or kills the process leaves the later ones "not run".
    """
    ids = {case.name: f"{index:03d}" for index, case in enumerate(cases)}
    with tempfile.TemporaryDirectory(prefix="cnnviz-check-") as folder:
        workdir = Path(folder)
        _write_cases(workdir, cases, ids)
        cpu_seconds = int(timeout * (len(cases) + 1)) + 5  # a backstop; the wall clock rules
        limits = [function, str(memory_mb * 2**20), str(cpu_seconds)]
        results = ["progress", "status-import.json",
                   *[f"{kind}-{i}.{ext}" for i in ids.values()
                     for kind, ext in (("status", "json"), ("out", "npz"))]]
        argv, cwd, env = _command(workdir, path, CHILD, limits, sandbox, results)
        ended = _supervise(argv, cwd, env, workdir, timeout, memory_mb)
        return _collect(workdir, cases, ids, ended)


def run_model(path: Path, data: dict[str, np.ndarray] | None = None, *, timeout: float = 20.0,
              memory_mb: int = KERAS_MEMORY_MB, sandbox: bool = False) -> ModelRun:
    """Task 5: import the file at `path` and describe `lenet5(keras.Input((28, 28, 1)))` in one
    child process (keras_child.py); given `data` (beside.training_data's arrays), train it one
    epoch too. timeout: seconds for the file's import and for the call (the grader's own import
    of Keras gets KERAS_IMPORT_SECONDS, the training TRAIN_SECONDS); memory_mb, sandbox: as
    run_solution's.
    """
    return _run_network(path, KERAS_CHILD, "keras", data, timeout, memory_mb, sandbox)


def run_tf1(path: Path, data: dict[str, np.ndarray] | None, *, timeout: float = 20.0,
            memory_mb: int = KERAS_MEMORY_MB, sandbox: bool = False) -> ModelRun:
    """Task 4: import the file at `path`, describe the graph `lenet5(x, y)` builds and train it
    on `data` (x_train, y_train, x_test, y_test; None: no training) in one child process
    (tf1_child.py); timeout,
    memory_mb, sandbox: as run_model's."""
    return _run_network(path, TF1_CHILD, "tf", data, timeout, memory_mb, sandbox)


def _run_network(path: Path, script: Path, first: str, data: dict | None, timeout: float,
                 memory_mb: int, sandbox: bool) -> ModelRun:
    """run_model's and run_tf1's run: `first`, the child's own import of TensorFlow, and the
    training get their own, longer limits."""
    with tempfile.TemporaryDirectory(prefix="cnnviz-check-") as folder:
        workdir = Path(folder)
        results = ["progress", "status-import.json", "status-build.json", "model.json"]
        if data is not None:
            np.savez(workdir / "data.npz", **data)
            results += ["status-train.json", "train.json"]
        cpu_seconds = int(KERAS_IMPORT_SECONDS + TRAIN_SECONDS + 2 * timeout) + 5  # a backstop
        limits = [str(memory_mb * 2**20), str(cpu_seconds)]
        argv, cwd, env = _command(workdir, path, script, limits, sandbox, results)
        ended = _supervise(argv, cwd, env, workdir, timeout, memory_mb,
                           {first: KERAS_IMPORT_SECONDS, "train": TRAIN_SECONDS})
        run = _collect_model(workdir, ended)
        if run.built.kind != "ok":  # the layers made before lenet5 failed, if any (task 4's)
            partial = _model(workdir / "model.json") if run.setup.kind == "ok" else None
            return dataclasses.replace(run, model=partial)
        if data is None:
            return run
        trained = _status(workdir, "train") or ended
        training = _model(workdir / "train.json", "accuracy") if trained.kind == "ok" else None
        if trained.kind == "ok" and training is None:
            trained = Outcome("return", message="left a training record the grader cannot read")
        return dataclasses.replace(run, trained=trained, training=training)


def _command(workdir: Path, path: Path, script: Path, limits: list[str], sandbox: bool,
             results: list[str]) -> tuple[list[str], Path, dict]:
    """(argv, cwd, env) of `script` on the file at `path`; in the sandbox, `results` are the
    files of workdir the child may write."""
    nice = _nice()
    if sandbox:
        from cnnviz.check.sandbox import BWRAP_ENV, command, prepare

        box = prepare(workdir, results, path.resolve())
        return [*nice, *command(box, limits, script.name)], workdir, BWRAP_ENV
    argv = [*nice, sys.executable, "-I", str(script), str(workdir), str(path.resolve()), *limits]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    return argv, path.resolve().parent, env


def _nice() -> list[str]:
    """`nice -n CHILD_NICENESS` before the child's command (its start-up, the sandbox's and the
    imports included: all of it at the lower priority, which it cannot raise back unprivileged);
    nothing where coreutils' nice is missing."""
    nice = shutil.which("nice")
    return [nice, "-n", str(CHILD_NICENESS)] if nice else []


def _supervise(argv: list[str], cwd: Path, env: dict, workdir: Path, timeout: float,
               memory_mb: int, slow: dict[str, float] | None = None) -> Outcome:
    """Run the child to its end (or kill it); why it stopped, for a step left without status.
    slow: steps allowed longer than `timeout` (the grader's own import of TensorFlow)."""
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    drains = [_Drain(child.stdout), _Drain(child.stderr)]
    stuck_in = _wait(child, workdir / "progress", timeout, drains, slow or {})
    for drain in drains:  # a process the student left behind may hold a pipe open
        drain.join(timeout=DRAIN_SECONDS)
    limit = (slow or {}).get(stuck_in, timeout)
    return _ending(child.returncode, stuck_in, limit, memory_mb, drains)


class _Drain(threading.Thread):
    """Reads a pipe of the child's to its end, keeping the last TAIL_CHARS bytes; `over` once
    more than MAX_OUTPUT_BYTES came (the child is then killed by _wait)."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe, self.tail, self.total, self.over = pipe, b"", 0, False
        self.start()

    def run(self) -> None:
        with self.pipe:
            while chunk := self.pipe.read1(1 << 16):
                self.total += len(chunk)
                self.tail = (self.tail + chunk)[-TAIL_CHARS:]
                self.over = self.over or self.total > MAX_OUTPUT_BYTES


def _write_cases(workdir: Path, cases: list[Case], ids: dict[str, str]) -> None:
    """The cases' inputs (in-<id>.npz) and their listing (cases.json) in workdir."""
    for name, data in _case_files(cases, ids).items():
        (workdir / name).write_bytes(data)


def _case_files(cases: list[Case], ids: dict[str, str]) -> dict[str, bytes]:
    """_write_cases' files, name -> bytes; made once for cases whose arrays are all read-only
    (solution.graded_cases shares them among a class's checks: they cannot change), kept in
    _CASE_FILES by the cases' identities (the cases kept alive with them)."""
    identity = tuple(id(case) for case in cases)
    if identity in _CASE_FILES:
        return _CASE_FILES[identity][1]
    files, listing = {}, []
    for case in cases:
        names = TASKS[case.task][0]
        arrays = {name: case.args[name] for name in names
                  if isinstance(case.args[name], np.ndarray)}
        dicts = {name: case.args[name] for name in names if isinstance(case.args[name], dict)}
        saved = {**arrays, **{f"{name}.{key}": np.asarray(value, dtype=np.float64)
                              for name, values in dicts.items() for key, value in values.items()}}
        buffer = io.BytesIO()
        np.savez(buffer, **saved)
        files[f"in-{ids[case.name]}.npz"] = buffer.getvalue()
        listing.append({
            "id": ids[case.name],
            "args": [[name, "array" if name in arrays else {"dict": list(dicts[name])}
                      if name in dicts else _plain(case.args[name])] for name in names],
            "outputs": ([keys and list(keys) for _, keys in RETURNS[case.task]]
                        if case.task in RETURNS else len(TASKS[case.task][1])),
        })
    files["cases.json"] = json.dumps(listing).encode()
    if not any(array.flags.writeable for case in cases for array in case.arrays()):
        with _CASE_FILES_LOCK:  # the server's grading slots are threads
            while len(_CASE_FILES) >= MAX_CASE_SETS:
                del _CASE_FILES[next(iter(_CASE_FILES))]  # the oldest set
            _CASE_FILES[identity] = (list(cases), files)
    return files


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _wait(child: subprocess.Popen, progress: Path, timeout: float, drains: list[_Drain],
          slow: dict[str, float]) -> str | None:
    """Wait for the child; kill its session when one step (the import or a case) outlasts
    `timeout` (`slow[step]` for those) or it prints too much. Returns the id of that step
    ("import" or a case id), or None."""
    step, since = None, time.monotonic()
    while child.poll() is None:
        lines = progress.read_text().split() if progress.exists() else []
        if lines and lines[-1] != step:
            step, since = lines[-1], time.monotonic()
        late = time.monotonic() - since > slow.get(step, timeout)
        if late or any(drain.over for drain in drains):
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return step or "import"
        time.sleep(POLL_SECONDS)
    return None


def _collect(workdir: Path, cases: list[Case], ids: dict[str, str], ended: Outcome) -> Run:
    steps = (workdir / "progress").read_text().split() if (workdir / "progress").exists() else []
    setup = _status(workdir, "import")
    if setup is None:  # found the function, or died before a case began
        setup = ended if steps[-1:] in ([], ["import"]) else Outcome("ok")
    if setup.kind != "ok":
        return Run(setup, {case.name: Outcome("not run") for case in cases})
    outcomes, stopped = {}, False
    for case in cases:
        outcome = _status(workdir, ids[case.name])
        if outcome is None:
            outcome, stopped = (Outcome("not run") if stopped else ended), True
        elif outcome.kind == "ok":
            outcome = _outputs(workdir / f"out-{ids[case.name]}.npz")
        outcomes[case.name] = outcome
    return Run(Outcome("ok"), outcomes)


def _collect_model(workdir: Path, ended: Outcome) -> ModelRun:
    steps = (workdir / "progress").read_text().split() if (workdir / "progress").exists() else []
    step = steps[-1] if steps else "keras"
    setup = _status(workdir, "import")
    if setup is None:  # found lenet5, or died before calling it
        setup = Outcome("ok") if step in ("build", "train") else ended
    if setup.kind != "ok":
        return ModelRun(setup, Outcome("not run"), step=step)
    built = _status(workdir, "build") or ended
    if built.kind != "ok":
        return ModelRun(setup, built, step=step)
    model = _model(workdir / "model.json")
    if model is None:
        built = Outcome("return", message="left a model description the grader cannot read")
    return ModelRun(setup, built, model, step)


def _model(path: Path, key: str = "layers") -> dict | None:
    """keras_child's description of the model: a JSON object with a list of layers (the
    student's code can write the file too, so nothing more is assumed here); with key
    "accuracy", a child's training record: a JSON object with that key."""
    try:
        if path.stat().st_size > MAX_MODEL_BYTES:
            return None
        model = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if key != "layers":
        return model if isinstance(model, dict) and key in model else None
    layers = model.get("layers") if isinstance(model, dict) else None
    ok = isinstance(layers, list) and all(isinstance(layer, dict) for layer in layers)
    return model if ok else None


def _outputs(path: Path) -> Outcome:
    """The arrays the child saved; a "return" Outcome when the file holds anything else (the
    student's code can write it too)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = tuple(np.asarray(saved[f"arr_{k}"], dtype=np.float64)
                           for k in range(len(saved.files)))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return Outcome("return", message="left a result that is not plain arrays of numbers")
    return Outcome("ok", arrays)


def _status(workdir: Path, step: str) -> Outcome | None:
    path = workdir / f"status-{step}.json"
    text = path.read_text() if path.exists() else ""
    if not text:  # the sandbox creates it empty: not written yet
        return None
    try:
        status = json.loads(text)
        if status["kind"] not in CHILD_KINDS:
            raise ValueError(status["kind"])
        return Outcome(status["kind"], message=str(status.get("message", "")),
                       traceback=str(status.get("traceback", "")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return Outcome("return", message="left a status the grader cannot read")


def _ending(returncode: int, stuck_in: str | None, timeout: float, memory_mb: int,
            drains: list[_Drain]) -> Outcome:
    """Why the child stopped before writing a step's status."""
    stderr = drains[1].tail.decode(errors="replace").strip()
    if any(drain.over for drain in drains):
        return Outcome("output", message=f"printed more than {MAX_OUTPUT_BYTES // 2**20} MiB "
                       f"and was stopped; print less: the grader reads no prints")
    if stuck_in is not None:
        return Outcome("timeout", message=f"did not finish within {timeout:g} s (--timeout)")
    if returncode == -signal.SIGXCPU:
        return Outcome("timeout", message="used up its CPU time limit")
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = (f"; the memory limit is {memory_mb} MiB (--memory-mb)"
                if -returncode in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT) else "")
        return Outcome("crash", message=f"was killed by signal {name}{hint}", traceback=stderr)
    if returncode != 0:
        return Outcome("crash", message=f"ended with exit code {returncode}", traceback=stderr)
    return Outcome("crash", message="ended without a result", traceback=stderr)
