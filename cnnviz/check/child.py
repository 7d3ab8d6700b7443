"""The student's process: `python -I child.py WORKDIR STUDENT.py FUNCTION MEMORY_BYTES CPU_SECONDS`.

Runs as a script, never imported: it needs only NumPy and the standard library, not cnnviz. It
limits its own address space (RLIMIT_AS), CPU time and file sizes (keeping any lower limit the
sandbox set), imports the student's file, then calls FUNCTION on every case listed in
WORKDIR/cases.json. Inputs come from
WORKDIR/in-<id>.npz; each result goes to WORKDIR/out-<id>.npz (plain float64 arrays) and a status
to WORKDIR/status-<id>.json; the id of the case being run is appended to WORKDIR/progress (the
parent's clock for the time limit). A failure is a status {"kind": ..., "message", "traceback"}
whose traceback keeps only the student's frames. Nothing here is pickled.
"""

import importlib.util
import json
import resource
import sys
import traceback
from pathlib import Path

import numpy as np

HERE = str(Path(__file__).resolve())
HARNESS = (HERE, *(str(Path(HERE).with_name(name))  # tasks 4 and 5's children run through here
                   for name in ("keras_child.py", "tf1_child.py")))


def limit(memory_bytes: int, cpu_seconds: int) -> None:
    """Lower the limits; one set lower already (by the sandbox) is kept."""
    for kind, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, cpu_seconds),
                        (resource.RLIMIT_FSIZE, 1 << 30)):
        hard = resource.getrlimit(kind)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


def student_traceback(error: BaseException) -> str:
    """The traceback without this harness's frames nor importlib's."""
    trace = traceback.TracebackException.from_exception(error)
    frames = [frame for frame in trace.stack
              if frame.filename not in HARNESS and not frame.filename.startswith("<frozen")]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.StackSummary.from_list(frames).format()
    lines += trace.format_exception_only()
    return "".join(lines).rstrip()


def failure(kind: str, message: str, error: BaseException | None = None) -> dict:
    return {"kind": kind, "message": message,
            "traceback": student_traceback(error) if error is not None else ""}


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload))


def train_beside(workdir: Path, train) -> None:
    """train(data) -> figures on the arrays of WORKDIR/data.npz (tasks 4 and 5: a short training
    beside the reference), written to train.json; a failure to status-train.json."""
    try:
        with np.load(workdir / "data.npz", allow_pickle=False) as saved:
            data = {name: saved[name] for name in saved.files}
        (workdir / "train.json").write_text(json.dumps(train(data)))
        status = {"kind": "ok"}
    except MemoryError as error:
        status = failure("memory", "ran out of memory", error)
    except BaseException as error:  # noqa: BLE001 - the student's model, trained
        status = failure("exception", f"raised {type(error).__name__}", error)
    write_json(workdir / "status-train.json", status)


def load_function(path: Path, name: str):
    """The student's function, or a failure dict."""
    sys.path.insert(0, str(path.parent))  # the course's mains import siblings by file name
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except MemoryError as error:
        return failure("memory", "ran out of memory while the file was imported", error)
    except BaseException as error:  # noqa: BLE001 - anything the student's file raises
        return failure("import", f"raised {type(error).__name__} when the file was imported", error)
    function = getattr(module, name, None)
    if not callable(function):
        defined = sorted(key for key, value in vars(module).items()
                         if callable(value) and not key.startswith("_")
                         and getattr(value, "__module__", None) == module.__name__)
        return failure("missing", f"defines no function {name} (it defines: "
                       f"{', '.join(defined) or 'no functions'})")
    return function


ACTIVATIONS = {  # the callables the course passes as `activation`
    "none": lambda Z: Z,
    "relu": lambda Z: np.maximum(Z, 0),
    "tanh": lambda Z: np.tanh(Z),
}


def arguments(workdir: Path, case: dict) -> list:
    with np.load(workdir / f"in-{case['id']}.npz", allow_pickle=False) as arrays:
        args = []
        for name, value in case["args"]:
            if value == "array":
                args.append(arrays[name])
            elif isinstance(value, dict):  # the homework's weights: a 0-d array is a float
                args.append({key: arrays[f"{name}.{key}"].item() if arrays[f"{name}.{key}"].ndim
                             == 0 else arrays[f"{name}.{key}"] for key in value["dict"]})
            elif name == "activation":
                args.append(ACTIVATIONS[value])
            else:
                args.append(tuple(value) if isinstance(value, list) else value)
    return args


def outputs(result, spec) -> list:
    """The result as float64 arrays; ValueError describing what came back otherwise. spec: the
    count of arrays returned, or per returned value None (an array) or the keys of a dict of
    arrays (flattened in that order)."""
    count = spec if isinstance(spec, int) else len(spec)
    if result is None:
        raise ValueError("returned None; is a `return` statement missing?")
    values = [result] if count == 1 else result
    if count > 1 and (not isinstance(result, (tuple, list)) or len(result) != count):
        items = f" of {len(result)} items" if isinstance(result, (tuple, list)) else ""
        raise ValueError(f"returned {type(result).__name__}{items}"
                         f"; expected a tuple of {count} values")
    arrays = []
    for value, keys in zip(values, [None] * count if isinstance(spec, int) else spec):
        if keys is None:
            arrays.append(as_array(value))
            continue
        if not isinstance(value, dict):
            raise ValueError(f"returned a {type(value).__name__} where a dict with keys "
                             f"{', '.join(keys)} was expected")
        missing = [key for key in keys if key not in value]
        if missing:
            has = ", ".join(repr(key)[:40] for key in list(value)[:10]) or "no keys"
            raise ValueError(f"returned a dict without the key(s) {', '.join(missing)} "
                             f"(it has {has})")
        arrays += [as_array(value[key], f" for key {key!r}") for key in keys]
    return arrays


def as_array(value, where: str = ""):
    """The value as a float64 array; ValueError when it is not numbers."""
    if value is None:
        raise ValueError(f"returned None{where}; is a `return` statement missing?")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"returned a {type(value).__name__}{where}, not an array of numbers"
        ) from None


def run_case(function, workdir: Path, case: dict) -> dict:
    args = arguments(workdir, case)
    try:
        result = function(*args)
    except MemoryError as error:
        return failure("memory", "ran out of memory", error)
    except BaseException as error:  # noqa: BLE001 - anything the student's function raises
        return failure("exception", f"raised {type(error).__name__}", error)
    try:
        arrays = outputs(result, case["outputs"])
    except ValueError as error:
        return failure("return", str(error))
    except BaseException as error:  # noqa: BLE001 - a dict or array of the student's raised
        return failure("return", f"returned a value that raised {type(error).__name__} when "
                       f"read as arrays", error)
    np.savez(workdir / f"out-{case['id']}.npz", *arrays)
    return {"kind": "ok"}


def main(workdir: str, student: str, name: str, memory_bytes: str, cpu_seconds: str) -> int:
    limit(int(memory_bytes), int(cpu_seconds))
    workdir = Path(workdir)
    with open(workdir / "progress", "a") as progress:
        progress.write("import\n")
        progress.flush()
        function = load_function(Path(student), name)
        if isinstance(function, dict):
            write_json(workdir / "status-import.json", function)
            return 0
        for case in json.loads((workdir / "cases.json").read_text()):
            progress.write(f"{case['id']}\n")
            progress.flush()
            write_json(workdir / f"status-{case['id']}.json", run_case(function, workdir, case))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
