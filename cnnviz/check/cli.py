"""`cnnviz check PATH.py [--task TASK] [--report report.html] [--sandbox]`: grade a course
solution.

Exit codes: 0 every case passes; 1 some values are wrong; 2 the file could not be graded fully (a
syntax error, a missing function, an exception, a wrong return shape, a time-out, the memory
limit), explained in one paragraph with the student's own traceback lines.
"""

import argparse
import sys
from pathlib import Path

from cnnviz.check import solution
from cnnviz.check.cases import ATOL, COURSE_FILES, HOMEWORK, MODEL_TASKS, RTOL, TASK_NUMBERS
from cnnviz.check.grade import COLUMNS, TaskReport, table_row
from cnnviz.check.solution import find_tasks

MODEL_WORDS = {  # what a model task's points compare
    "lenet5_tf1": "the graph lenet5(x, y) builds on tf.compat.v1 placeholders, and its accuracy "
                  "after training, against the course's LeNet-5",
    "lenet5": "the model lenet5(X) built on keras.Input((28, 28, 1)) against the course's LeNet-5",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cnnviz check",
        description="Grade a course solution (0-conv_forward.py ... 3-pool_backward.py) against "
                    "cnnviz.ops on the course's cases and random ones, 4-lenet5.py's TensorFlow-1 "
                    "graph (trained a few hundred steps beside the reference) or 5-lenet5.py's "
                    "Keras model against the course's LeNet-5, or the homework's "
                    "forward_propagation and back_propagation against cnnviz.dense; say what is "
                    "likely wrong. The "
                    "file runs in its own process with a time and a memory limit.")
    parser.add_argument("path", type=Path, help="the student's Python file")
    parser.add_argument("--task", choices=[*COURSE_FILES, *TASK_NUMBERS, *HOMEWORK, "homework"],
                        help="the function to check, its task number, or homework (its "
                             "functions the file defines) (default: found from "
                             "the file's name and functions)")
    parser.add_argument("--report", type=Path, help="write an HTML page with heatmaps of every "
                        "failing case here")
    parser.add_argument("--random", type=int, default=24, metavar="N",
                        help="number of random cases per task (default 24)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random cases")
    parser.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS",
                        help="time allowed for the import and for each case (default 20)")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="memory limit of the student's process in MiB (default 2048; "
                             "tasks 4 and 5 get at least 2048: TensorFlow needs it)")
    parser.add_argument("--sandbox", action="store_true",
                        help="run the file in the grader's sandbox (bubblewrap: no network, no "
                             "view of anything but the file, a process limit), as the server "
                             "does")
    parser.add_argument("--no-train", dest="train", action="store_false",
                        help="tasks 4 and 5: grade the network without training it beside the "
                             "course's (faster)")
    parser.add_argument("--tie-break", choices=("all", "first"), default="all",
                        help="max-pool backward: the gradient goes to every tied maximum (the "
                             "course's rule, default) or only the first (TensorFlow's)")
    args = parser.parse_args(argv)
    if args.random < 0 or args.timeout <= 0 or args.memory_mb < 256:
        parser.error("--random must be >= 0, --timeout > 0 and --memory-mb >= 256")
    return args


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
        print(solution.syntax_paragraph(args.path.name, error))
        return 2
    except (ValueError, RecursionError, MemoryError) as error:
        print(f"{error}." if isinstance(error, ValueError) else
              solution.too_deep_paragraph(args.path.name))
        return 2
    reports = [check_task(args, task) for task in tasks]
    if args.report is not None:
        from cnnviz.check.report import write_report  # Plotly: only when a report is asked for

        write_report(args.report, reports)
        print(f"Report: {args.report}")
    return max(exit_code(report) for report in reports)


def check_task(args: argparse.Namespace, task: str) -> TaskReport:
    """Run, grade and print one task; its report."""
    options = solution.Options(random=args.random, seed=args.seed, timeout=args.timeout,
                               memory_mb=args.memory_mb, sandbox=args.sandbox,
                               tie_break=args.tie_break, train=args.train)
    report = solution.check_task(args.path, task, options)
    print(f"{task} in {args.path}")
    if not report.results:
        print(report.problems[0])
        return report
    if task in MODEL_TASKS:
        print(f"{solution.passed(report)} of {len(report.results)} points pass "
              f"({MODEL_WORDS[task]}).")
    else:
        print(_cases_line(args, report))
    print(format_table([table_row(result) for result in report.results]))
    for result in report.results:
        if task in MODEL_TASKS and result.status != "pass":
            print(f"{result.case.name}: {result.case.describe()}")
    if report.summary:
        print("\n" + "\n".join(report.summary))
    for problem in report.problems:
        print(f"\n{problem}")
    return report


def _cases_line(args: argparse.Namespace, report: TaskReport) -> str:
    course = sum(result.case.course for result in report.results)
    if report.task in HOMEWORK:
        return (f"{solution.passed(report)} of {len(report.results)} cases pass (the homework's "
                f"own example, {args.random} random float64 cases, seed {args.seed}; values "
                f"compared with cnnviz.dense's, rtol {RTOL:g}, atol {ATOL:g}).")
    return (f"{solution.passed(report)} of {len(report.results)} cases pass ({course} course "
            f"cases on MNIST digits, {args.random} random float64 cases, seed {args.seed}; values "
            f"compared with rtol {RTOL:g}, atol {ATOL:g}).")


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
