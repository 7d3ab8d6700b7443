"""`cnnviz check PATH.py [--task TASK] [--report report.html] [--sandbox]`: grade a course
solution.

Exit codes: 0 every case passes; 1 some values are wrong; 2 the file could not be graded fully (a
syntax error, a missing function, an exception, a wrong return shape, a time-out, the memory
limit), explained in one paragraph with the student's own traceback lines.
"""

import argparse
import ast
import io
import sys
import tokenize
from pathlib import Path

from cnnviz.check import diagnose
from cnnviz.check.cases import ATOL, COURSE_FILES, RTOL, TASKS, Case, course_cases, random_cases
from cnnviz.check.grade import COLUMNS, CaseResult, TaskReport, grade, table_row
from cnnviz.check.runner import run_solution

MAX_SOLUTION_BYTES = 1 << 20  # the course's solutions are a few KiB


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cnnviz check",
        description="Grade a course solution (0-conv_forward.py ... 3-pool_backward.py) against "
                    "cnnviz.ops on the course's cases and random ones; say what is likely wrong. "
                    "The file runs in its own process with a time and a memory limit.")
    parser.add_argument("path", type=Path, help="the student's Python file")
    parser.add_argument("--task", choices=list(TASKS),
                        help="the function to check (default: found from the file's functions)")
    parser.add_argument("--report", type=Path, help="write an HTML page with heatmaps of every "
                        "failing case here")
    parser.add_argument("--random", type=int, default=24, metavar="N",
                        help="number of random cases per task (default 24)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random cases")
    parser.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS",
                        help="time allowed for the import and for each case (default 20)")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="memory limit of the student's process in MiB (default 2048)")
    parser.add_argument("--sandbox", action="store_true",
                        help="run the file in the grader's sandbox (bubblewrap: no network, no "
                             "view of anything but the file, a process limit), as the server "
                             "does")
    parser.add_argument("--tie-break", choices=("all", "first"), default="all",
                        help="max-pool backward: the gradient goes to every tied maximum (the "
                             "course's rule, default) or only the first (TensorFlow's)")
    args = parser.parse_args(argv)
    if args.random < 0 or args.timeout <= 0 or args.memory_mb < 256:
        parser.error("--random must be >= 0, --timeout > 0 and --memory-mb >= 256")
    return args


def find_tasks(path: Path, task: str | None) -> list[str]:
    """The tasks to check: --task, else the course functions the file defines at top level, else
    the one its name announces. Raises SyntaxError for an unreadable file, ValueError when no
    task is found."""
    tree = ast.parse(read_source(path), filename=str(path))
    if task is not None:
        return [task]
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    found = [name for name in TASKS if name in defined]
    found = found or [name for name in TASKS if path.stem.endswith(name)]
    if not found:
        raise ValueError(
            f"{path.name} defines none of the course's functions ({', '.join(TASKS)}); "
            f"name the task with --task, or check the function's name")
    return found


def read_source(path: Path) -> str:
    """The file's text. ValueError, saying what to change, for a file too large to be a
    solution or one that is not text in its declared encoding (UTF-8 by default)."""
    size = path.stat().st_size
    if size > MAX_SOLUTION_BYTES:
        raise ValueError(f"{path.name} is {size / 2**20:.1f} MiB; a solution is a few KiB and "
                         f"the check reads files up to {MAX_SOLUTION_BYTES // 2**10} KiB: send "
                         f"the .py file that defines your function")
    source = path.read_bytes()
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except SyntaxError:  # its first lines are not UTF-8: say where below
        encoding = "utf-8"
    try:
        return source.decode(encoding)
    except UnicodeDecodeError as error:
        name = "UTF-8" if encoding.startswith("utf-8") else encoding
        raise ValueError(f"{path.name} is not {name} text (byte {error.start}); save it as "
                         f"UTF-8 (an editor's \"Save with encoding\"), or send the .py file "
                         f"itself") from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not args.path.is_file():
        print(f"{args.path} is not a file; give the path of your solution, e.g. "
              f"{COURSE_FILES['conv_forward']}", file=sys.stderr)
        return 2
    if args.sandbox:
        from cnnviz.check import sandbox

        ok, reason = sandbox.available()
        if not ok:
            print(f"The sandbox cannot start: {reason}. Nothing was graded; without --sandbox "
                  f"the check runs your file as yourself.", file=sys.stderr)
            return 2
    try:
        tasks = find_tasks(args.path, args.task)
    except SyntaxError as error:
        print(syntax_paragraph(args.path, error))
        return 2
    except (ValueError, RecursionError, MemoryError) as error:
        print(f"{error}." if isinstance(error, ValueError) else
              f"{args.path.name} cannot be graded: it is too deeply nested for Python to read.")
        return 2
    reports = [check_task(args, task) for task in tasks]
    if args.report is not None:
        from cnnviz.check.report import write_report  # Plotly: only when a report is asked for

        write_report(args.report, reports)
        print(f"Report: {args.report}")
    return max(exit_code(report) for report in reports)


def check_task(args: argparse.Namespace, task: str) -> TaskReport:
    """Run, grade and print one task; its report."""
    cases = (course_cases(task, args.tie_break)
             + random_cases(task, args.random, args.seed, args.tie_break))
    run = run_solution(args.path, task, cases, timeout=args.timeout, memory_mb=args.memory_mb,
                       sandbox=args.sandbox)
    print(f"{task} in {args.path}")
    if run.setup.kind != "ok":
        while_importing = " while the file was imported" if run.setup.kind in ("timeout",
                                                                             "crash") else ""
        problem = _with_traceback(f"{args.path.name} cannot be graded: it {run.setup.message}"
                                  f"{while_importing}.{_sandbox_note(run.setup, args.sandbox)}",
                                  run.setup.traceback)
        print(problem)
        return TaskReport(task, args.path, [], {}, [], [problem])
    results = [grade(case, run.outcomes[case.name]) for case in cases]
    passed = sum(r.status == "pass" for r in results)
    print(f"{passed} of {len(results)} cases pass ({len(cases) - args.random} course cases on "
          f"MNIST digits, {args.random} random float64 cases, seed {args.seed}; values compared "
          f"with rtol {RTOL:g}, atol {ATOL:g}).")
    print(format_table([table_row(result) for result in results]))
    explained = diagnose.explain_all(results)
    summary = diagnose.summary(results, explained)
    problems = problem_paragraphs(task, results, explained, args.memory_mb, args.sandbox)
    if summary:
        print("\n" + "\n".join(summary))
    for problem in problems:
        print(f"\n{problem}")
    return TaskReport(task, args.path, results, explained, summary, problems)


def exit_code(report: TaskReport) -> int:
    if not report.results or any(r.status not in ("pass", "fail") for r in report.results):
        return 2
    return 0 if all(r.status == "pass" for r in report.results) else 1


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[k]) for row in [COLUMNS, *rows]) for k in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in [COLUMNS, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def syntax_paragraph(path: Path, error: SyntaxError) -> str:
    where = f"line {error.lineno}" if error.lineno else "somewhere"
    code = (error.text or "").rstrip("\n")
    pointer = f"\n    {code.strip()}" if code else ""
    return (f"{path.name} cannot be graded: Python cannot read it ({error.msg}, {where})."
            f"{pointer}\nFix the syntax and run the check again.")


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
