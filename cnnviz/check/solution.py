"""A student's solution, checked without printing: what `cnnviz check` prints and the Check page
shows.

The text is refused up front when it is too large to be a solution or not text in its declared
encoding (UTF-8 by default); the tasks come from `--task`, else the course file name
(`0-conv_forward.py` ...) when the file defines that function, else the course functions it
defines at top level (lenet5 by its signature: task 4's takes x and y, task 5's X; the
homework's forward_propagation and back_propagation by name; `--task homework`: both), else its
name alone (then the check says the function is missing); one task's cases run through runner
(optionally in the sandbox), graded and diagnosed, make a TaskReport (`check_task`), whose
`problems` are paragraphs for the student. Tasks 4 and 5 are graded on the network the file
builds instead (check_tf1, check_model).
"""

import ast
import functools
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

from cnnviz.check import (
    beside,
    diagnose,
    homework,
    keras_diagnose,
    keras_task,
    tf1_diagnose,
    tf1_task,
)
from cnnviz.check.cases import (
    COURSE_FILES,
    HOMEWORK,
    MODEL_TASKS,
    TASK_NUMBERS,
    TASKS,
    Case,
    course_cases,
    function_of,
    random_cases,
)
from cnnviz.check.grade import CaseResult, TaskReport, grade
from cnnviz.check.keras_task import PointResult
from cnnviz.check.parsing import parse
from cnnviz.check.runner import KERAS_MEMORY_MB, run_model, run_solution, run_tf1

MAX_SOLUTION_BYTES = 1 << 20  # the course's solutions are a few KiB
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.py")  # a name kept as the student's


@dataclass(frozen=True)
class Options:
    """How a file is checked (the CLI's options; see `cnnviz check --help`)."""

    random: int = 24  # random cases per task
    seed: int = 0
    timeout: float = 20.0  # seconds for the import and for each case
    memory_mb: int = 2048
    sandbox: bool = False
    tie_break: str = "all"
    train: bool = True  # tasks 4 and 5: train beside the reference


def decode(data: bytes, name: str) -> str:
    """The file's text. ValueError, saying what to change, for a file too large to be a
    solution or one that is not text in its declared encoding (UTF-8 by default)."""
    if len(data) > MAX_SOLUTION_BYTES:
        raise ValueError(too_large(name, len(data)))
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:  # its first lines are not UTF-8: say where below
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        said = "UTF-8" if encoding.startswith("utf-8") else encoding
        raise ValueError(f"{name} is not {said} text (byte {error.start}); save it as "
                         f"UTF-8 (an editor's \"Save with encoding\"), or send the .py file "
                         f"itself") from None


def too_large(name: str, size: int) -> str:
    return (f"{name} is {size / 2**20:.1f} MiB; a solution is a few KiB and the check reads "
            f"files up to {MAX_SOLUTION_BYTES // 2**10} KiB: send the .py file that defines your "
            f"function")


def read_source(path: Path) -> str:
    """decode() of the file at `path`, its size checked before it is read."""
    size = path.stat().st_size
    if size > MAX_SOLUTION_BYTES:
        raise ValueError(too_large(path.name, size))
    return decode(path.read_bytes(), path.name)


def find_tasks_in(source: str, name: str, task: str | None = None) -> list[str]:
    """The tasks to check in `source` (a file named `name`): `task`, else the one its course
    name announces (`0-conv_forward.py`, `4-lenet5.py`) when it defines that function, else the
    course functions it defines at top level (a TensorFlow file's `lenet5` by its signature:
    lenet5(x, y) task 4, lenet5(X) task 5), else the one its name announces. SyntaxError for a
    file Python cannot read, RecursionError or MemoryError for one nested too deeply, ValueError
    when no task is found."""
    tree = parse(source, name)
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    if task == "homework":  # the homework's functions the file defines (both if none)
        return [function for function in HOMEWORK if function in defined] or list(HOMEWORK)
    if task is not None:
        return [TASK_NUMBERS.get(task, task)]
    named = [task for task, course in COURSE_FILES.items() if Path(name).name == course]
    found = [task for task in named if function_of(task) in defined]
    found = found or [function for function in TASKS if function in defined] + lenet5_task(tree)
    found = found or named or [function for function in TASKS
                               if Path(name).stem.endswith(function)]
    if not found:
        raise ValueError(
            f"{name} defines none of the course's functions "
            f"({', '.join([*COURSE_FILES, *HOMEWORK])}); "
            f"name the task with --task, or check the function's name")
    return found


def lenet5_task(tree: ast.Module) -> list[str]:
    """The LeNet-5 task the file's top-level `lenet5` is, by its signature, when the file imports
    TensorFlow (`tensorflow`, or `keras` for task 5): ["lenet5_tf1"] for task 4's lenet5(x, y),
    ["lenet5"] for task 5's lenet5(X); [] otherwise."""
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    arguments = [len(node.args.posonlyargs + node.args.args) for node in tree.body
                 if isinstance(node, ast.FunctionDef) and node.name == "lenet5"]
    if arguments == [1] and imported & {"keras", "tensorflow"}:
        return ["lenet5"]
    if arguments == [2] and "tensorflow" in imported:
        return ["lenet5_tf1"]
    return []


def find_tasks(path: Path, task: str | None) -> list[str]:
    """find_tasks_in() of the file at `path` (read_source's refusals as ValueError)."""
    return find_tasks_in(read_source(path), path.name, task)


def safe_name(name: str) -> str:
    """An uploaded file's name as the grader stores it: its last part when it is a plain
    `NAME.py` (the course's names are), else "solution.py"."""
    last = re.split(r"[\\/]", name)[-1]
    return last if SAFE_NAME.fullmatch(last) else "solution.py"


def check_task(path: Path, task: str, options: Options = Options()) -> TaskReport:
    """Run, grade and diagnose one task of the file at `path`."""
    if task == "lenet5_tf1":
        return check_tf1(path, task, options)
    if task in MODEL_TASKS:
        return check_model(path, task, options)
    cases = list(graded_cases(task, options.random, options.seed, options.tie_break))
    run = run_solution(path, task, cases, timeout=options.timeout, memory_mb=options.memory_mb,
                       sandbox=options.sandbox)
    if run.setup.kind != "ok":
        while_importing = " while the file was imported" if run.setup.kind in ("timeout",
                                                                             "crash") else ""
        problem = _with_traceback(f"{path.name} cannot be graded: it {run.setup.message}"
                                  f"{while_importing}.{_sandbox_note(run.setup, options.sandbox)}",
                                  run.setup.traceback)
        return TaskReport(task, path, [], {}, [], [problem])
    results = [grade(case, run.outcomes[case.name]) for case in cases]
    explained = diagnose.explain_all(results)
    return TaskReport(task, path, results, explained, diagnose.summary(results, explained),
                      problem_paragraphs(task, results, explained, options.memory_mb,
                                         options.sandbox))


@functools.lru_cache(maxsize=64)
def graded_cases(task: str, count: int, seed: int, tie_break: str) -> tuple[Case, ...]:
    """A case-graded task's cases (the course's, then `count` random ones; the homework's), with
    the outputs cnnviz computes for them: computed once per process for each set of options and
    shared by every check, so their arrays are made read-only."""
    made = homework.cases(task, count, seed) if task in HOMEWORK else (
        course_cases(task, tie_break) + random_cases(task, count, seed, tie_break))
    for array in (array for case in made for array in case.arrays()):
        array.flags.writeable = False
    return tuple(made)


def check_model(path: Path, task: str, options: Options = Options()) -> TaskReport:
    """Task 5: build the student's Keras model in its own process (with at least
    KERAS_MEMORY_MB: TensorFlow needs it), train it one epoch there (options.train), and grade
    both point by point against the course's."""
    memory_mb = max(options.memory_mb, KERAS_MEMORY_MB)
    run = run_model(path, beside.training_data() if options.train else None,
                    timeout=options.timeout, memory_mb=memory_mb, sandbox=options.sandbox)
    failed = run.setup if run.setup.kind != "ok" else run.built
    if failed.kind != "ok":
        return TaskReport(task, path, [], {}, [], [_model_problem(path, run, failed, options)])
    expected = keras_task.reference()
    trained = beside.keras_reference() if options.train else None
    try:
        results = keras_task.points(expected, run.model)
        if trained is not None:  # one epoch beside the reference
            results += [PointResult(point) for point in beside.training_points(
                trained, run.training, beside.EPOCH_TOLERANCE, "one epoch")]
        lines = keras_diagnose.diagnose(expected, run.model) or beside.training_line(
            trained, run.training, "one epoch", beside.EPOCH_TOLERANCE)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):  # written by the file
        return TaskReport(task, path, [], {}, [], [f"{path.name} cannot be graded: it left a "
                                                   f"model description the grader cannot read."])
    return _network_report(task, path, run, options, results, lines)


def check_tf1(path: Path, task: str, options: Options = Options()) -> TaskReport:
    """Task 4: build the student's TensorFlow-1 graph and train it in its own process (with at
    least KERAS_MEMORY_MB), and grade both point by point against the course's."""
    memory_mb = max(options.memory_mb, KERAS_MEMORY_MB)
    data = beside.training_data() if options.train else None
    run = run_tf1(path, data, timeout=options.timeout, memory_mb=memory_mb,
                  sandbox=options.sandbox)
    failed = run.setup if run.setup.kind != "ok" else run.built
    if failed.kind != "ok":
        problem = _model_problem(path, run, failed, options, task)
        partial = tf1_diagnose.partial(run.model)  # the layers built before it failed
        return TaskReport(task, path, [], {}, [], [f"{problem}\n\n{partial}" if partial
                                                   else problem])
    expected, trained = tf1_task.reference()
    try:
        results = tf1_task.points(expected, run.model, trained if options.train else None,
                                  run.training)
        lines = tf1_diagnose.diagnose(expected, run.model, trained, run.training)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):  # written by the file
        return TaskReport(task, path, [], {}, [], [f"{path.name} cannot be graded: it left a "
                                                   f"graph description the grader cannot read."])
    return _network_report(task, path, run, options, results, lines)


def _network_report(task: str, path: Path, run, options: Options, results: list,
                    lines: list[str]) -> TaskReport:
    """Tasks 4 and 5's report from their points and diagnosis, with a paragraph when the
    training failed."""
    if not lines and any(result.status != "pass" for result in results):
        lines = ["No known mistake explains the differences: compare your layers with the "
                 "course's, row by row in the table."]
    problems = [] if run.trained.kind == "ok" or not options.train else [
        _model_problem(path, run, run.trained, options, task, training=True)]
    explained = {r.case.name: {} for r in results if r.status != "pass"}
    return TaskReport(task, path, results, explained, lines, problems)


def _model_problem(path: Path, run, failed, options: Options, task: str = "lenet5",
                   training: bool = False) -> str:
    """The paragraph of a model that could not be built (task 4's: nor trained, `training`):
    what happened, and what the file's TensorFlow 1 calls (tf.layers) have to do with it."""
    call = "lenet5(x, y)" if task == "lenet5_tf1" else "lenet5(X)"
    if run.step in ("keras", "tf"):
        text = (f"{path.name} cannot be graded: the grader's own import of "
                f"{'Keras' if run.step == 'keras' else 'TensorFlow'} {failed.message}; tell "
                f"your teacher (TensorFlow needs about {KERAS_MEMORY_MB} MiB).")
    else:
        what = " when the file was imported" if run.setup.kind != "ok" else f" in {call}"
        what = "" if failed.kind in ("missing", "return") else what
        limit = (f" The limit is {max(options.memory_mb, KERAS_MEMORY_MB)} MiB (--memory-mb)."
                 if failed.kind == "memory" else "")
        trained = "graph could not be trained: running its train_op" if task == "lenet5_tf1" \
            else "model could not be trained: in train_on_batch"
        said = (f"{path.name}'s {trained}, it" if training
                else f"{path.name} cannot be graded: it")
        text = (f"{said} {failed.message}{'' if training else what}.{limit}"
                f"{_sandbox_note(failed, options.sandbox)}")
    try:
        source = read_source(path)
    except (OSError, ValueError):
        source = ""
    noted = tf1_diagnose.tf_layers_note if task == "lenet5_tf1" else keras_diagnose.tf_layers_note
    note = noted(source, f"{failed.message}\n{failed.traceback}")
    return _with_traceback(text + (f" {note}" if note else ""), failed.traceback)


def passed(report: TaskReport) -> int:
    return sum(result.status == "pass" for result in report.results)


def syntax_paragraph(name: str, error: SyntaxError) -> str:
    where = f"line {error.lineno}" if error.lineno else "somewhere"
    code = (error.text or "").rstrip("\n")
    pointer = f"\n    {code.strip()}" if code else ""
    return (f"{name} cannot be graded: Python cannot read it ({error.msg}, {where})."
            f"{pointer}\nFix the syntax and run the check again.")


def too_deep_paragraph(name: str) -> str:
    return f"{name} cannot be graded: it is too deeply nested for Python to read."


def problem_paragraphs(task: str, results: list[CaseResult], explained: dict,
                       memory_mb: int, sandbox: bool = False) -> list[str]:
    """One paragraph per kind of problem that stopped a case (its first occurrence)."""
    paragraphs, seen = [], set()
    for result in results:
        kind = result.status
        if kind in seen or kind in ("pass", "fail", "not run"):
            continue
        seen.add(kind)
        if kind == "shape":
            paragraphs.append(_shape_paragraph(task, result, explained[result.case.name]))
            continue
        case, outcome = result.case, result.outcome
        text = f"In case {case.name!r} ({case.describe()}), {task} {outcome.message}"
        text += "" if text.endswith("?") else "."
        if kind == "timeout":
            text += " Is there a loop that never ends? The cases after it were not run."
        if kind == "memory":
            text += (f" The limit is {memory_mb} MiB (--memory-mb): does it build an array far "
                     f"larger than its input?")
        text += _sandbox_note(outcome, sandbox)
        paragraphs.append(_with_traceback(text, outcome.traceback))
    return paragraphs


def _shape_paragraph(task: str, result: CaseResult, explained: dict) -> str:
    case: Case = result.case
    wrong = [o for o in result.failing if not o.shape_ok]
    shapes = ", ".join(f"{o.name} of shape {o.got.shape} instead of {o.expected.shape}"
                       for o in wrong)
    text = f"{task} returned {shapes} in case {case.name!r} ({case.describe()})."
    likely = [diagnose.text(key, fields)
              for o in wrong for key, fields in explained.get(o.name, [])]
    if likely:
        text += " Likely " + "; ".join(dict.fromkeys(likely)) + "."
    return text


def _sandbox_note(outcome, sandbox: bool) -> str:
    """A sentence on what the sandbox refused, when it likely caused `outcome`."""
    if not sandbox or outcome.kind not in ("import", "exception"):
        return ""
    from cnnviz.check.sandbox import hint

    said = hint(outcome.message, outcome.traceback)
    return f" Note: {said}." if said else ""


def _with_traceback(text: str, trace: str) -> str:
    if not trace:
        return text
    return text + "\n" + "\n".join(f"    {line}" for line in trace.splitlines())

