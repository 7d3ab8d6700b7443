"""Check my solution: a student uploads or pastes a course file and learns what is wrong.

The file is read and its task found here (cnnviz.check.solution, as `cnnviz check` does); it is
graded off this process, in the sandbox, through the server's grading queue
(cnnviz.check.queue): the page shows the check's place while it waits, polling every second near
the front of the queue and less often further back (queue.poll_seconds), then the report. What
the student sent is shown only as code, never as Markdown.
"""

import functools

import streamlit as st

from cnnviz.check import queue, sandbox, solution
from cnnviz.check.cases import COURSE_FILES, HOMEWORK, MODEL_TASKS
from cnnviz.check.grade import COLUMNS, TaskReport, table_row
from cnnviz.check.report import image_slices
from cnnviz.classroom import ClassStore, StoreUnavailable, checks
from cnnviz.classroom.names import as_markdown
from cnnviz.figures.check import comparison_figure
from cnnviz.ui import classroom as teacher_ui

TICKET, RESULT = "check_ticket", "check_result"  # (ticket, file name); (file name, reports)
POLL = "check_poll"  # seconds between the status's polls, as set by the last full run
# The class's browser key, set by the class banner once the student has one (cnnviz.ui.classroom)
FIND_TASK = "Find it from the file"
MODES = ("Upload a file", "Paste the code")
FIGURE_CASES = 3  # failing cases drawn as heatmaps; the table lists them all
state = st.session_state


def task_label(task: str) -> str:
    if task == FIND_TASK:
        return task
    if task == "homework":
        return f"homework ({', '.join(HOMEWORK)})"
    return f"homework: {task}" if task in HOMEWORK else f"{COURSE_FILES[task]} ({task})"


def source_ui() -> tuple[str, bytes] | None:
    """The student's file as (name, bytes), uploaded or pasted; None until there is one."""
    mode = st.radio("Your solution", MODES, horizontal=True, key="check_mode")
    if mode == MODES[0]:
        upload = st.file_uploader("Your .py file (up to 1 MiB)", type=["py"],
                                  max_upload_size=1, key="check_upload")
        if upload is None:
            st.info("Upload your course file, e.g. 0-conv_forward.py.")
            return None
        return upload.name, upload.getvalue()
    text = st.text_area("Your code", height=260, key="check_paste",
                        max_chars=solution.MAX_SOLUTION_BYTES,
                        placeholder="def conv_forward(A_prev, W, b, activation, ...):")
    if not text.strip():
        st.info("Paste the code of your solution: its functions tell which task it is.")
        return None
    return "solution.py", text.encode()


def tasks_ui(name: str, data: bytes, task: str | None) -> list[str] | None:
    """The tasks found in the file (its text shown as code), or None with the reason shown."""
    try:
        text = solution.decode(data, name)
    except ValueError as error:
        st.error(as_markdown(f"{error}."))
        return None
    with st.expander("Your file", expanded=False):
        st.code(text, language="python")
    try:
        return solution.find_tasks_in(text, name, task)
    except SyntaxError as error:
        st.error("Python cannot read your file: fix the syntax and check again.")
        st.code(solution.syntax_paragraph(name, error), language=None)
    except (RecursionError, MemoryError):
        st.error(as_markdown(solution.too_deep_paragraph(name)))
    except ValueError:
        st.error(as_markdown(f"Your file defines none of the course's functions "
                             f"({', '.join([*COURSE_FILES, *HOMEWORK])}): check your "
                             f"function's name, or choose the task above."))
    return None


def class_seat() -> tuple[ClassStore, str] | None:
    """(the class store, this browser's key) when the student has a key in the class; None
    otherwise (no class, or its database URL is unusable): then nothing is recorded."""
    key = state.get(teacher_ui.BROWSER_KEY)
    if not isinstance(key, str):
        return None
    try:
        return teacher_ui.class_store(), key
    except StoreUnavailable:
        return None


def record_in_class(seat: tuple[ClassStore, str] | None, reports: list[TaskReport]) -> None:
    """Keep each task's result with the student's name for the teacher; a class that is down or
    a browser without a name costs the student nothing (the report is shown all the same)."""
    if seat is None:
        return
    store, key = seat
    for report in reports:
        said = report.summary[:1] or report.problems[:1] or [""]
        try:
            checks.record(store, key, report.task, solution.passed(report),
                          len(report.results), said[0].splitlines()[0] if said[0] else "")
        except (StoreUnavailable, LookupError, ValueError):
            return


def check_and_record(name: str, data: bytes, tasks: list[str], seat) -> list[TaskReport]:
    """The queue's work: the sandboxed check, then the class's record of it."""
    reports = queue.check_in_sandbox(name, data, tasks)
    record_in_class(seat, reports)
    return reports


def submit_ui(name: str, data: bytes, tasks: list[str]) -> None:
    found = ", ".join(task_label(task) for task in tasks)
    st.write(f"Task found: {as_markdown(found)}")
    pending = TICKET in state
    if st.button("Check", type="primary", disabled=pending, key="check_run"):
        work = functools.partial(check_and_record, name, data, tasks, class_seat())
        try:
            state[TICKET] = (queue.shared().submit(work), solution.safe_name(name))
        except queue.Busy as busy:
            st.warning(str(busy))
            return
        st.rerun()  # the status starts polling


def status_ui() -> None:
    """The pending check's place in the queue; once done, its report replaces the last one."""
    if TICKET not in state:
        return
    ticket, name = state[TICKET]
    if not ticket.done:
        place = ticket.place
        if queue.poll_seconds(place) < (state.get(POLL) or 0):
            st.rerun()  # nearer the front: the whole page, to poll more often
        if place:
            ahead = "yours is next" if place == 1 else f"{place - 1} files are ahead of yours"
            st.info(f"Waiting: place {place} in the queue ({ahead}).")
        else:
            st.info("Checking your file in the sandbox…")
        return
    del state[TICKET]
    if isinstance(ticket.error, queue.SandboxUnavailable):
        state[RESULT] = (name, f"The checker cannot run here: {ticket.error}. Nothing was graded.")
    elif ticket.error is not None:
        state[RESULT] = (name, f"The check failed on the server ({type(ticket.error).__name__}); "
                               f"try again, or tell your teacher.")
    else:
        state[RESULT] = (name, ticket.result)
    st.rerun()  # the whole page: the report, and the polling stops


def report_ui(name: str, reports: list[TaskReport] | str) -> None:
    st.header("Report")
    st.caption(as_markdown(f"Last check: {name}"))
    if isinstance(reports, str):
        st.error(as_markdown(reports))
        return
    for report in reports:
        task_ui(report)


def task_ui(report: TaskReport) -> None:
    """Cases passed, the diagnosis in words, the table, heatmaps of the first failing cases."""
    st.subheader(task_label(report.task))
    if not report.results:
        st.error("Your file cannot be graded:")
        st.code(report.problems[0], language=None)
        return
    passed, total = solution.passed(report), len(report.results)
    what = "points" if report.task in MODEL_TASKS else "cases"
    if passed == total:
        st.success(f"All {total} {what} pass.")
    else:
        st.error(f"{passed} of {total} {what} pass.")
    for line in report.summary:
        st.warning(as_markdown(line))
    for problem in report.problems:  # the student's own messages and traceback: code only
        st.code(problem, language=None)
    rows = [table_row(result) for result in report.results]
    st.dataframe({column: [row[k] for row in rows] for k, column in enumerate(COLUMNS)},
                 hide_index=True, key=f"check_table_{report.task}")
    failing = [r for r in report.results if r.status in ("fail", "shape")][:FIGURE_CASES]
    for result in failing:
        st.caption(as_markdown(f"{result.case.name}: {result.case.describe()}"))
        for output in result.failing:
            expected, got, where = image_slices(output)
            st.plotly_chart(comparison_figure(expected, got, f"{output.name}, {where}"),
                            key=f"check_figure_{report.task}_{result.case.name}_{output.name}")


def main() -> None:
    st.title("Check my solution")
    st.write(as_markdown("This page grades these course files: "
                         + ", ".join(COURSE_FILES.values()) + ", and the homework's "
                         "forward_propagation and back_propagation (its 2-3-1 network)."))
    st.caption("Your file runs in a sandbox on the server: no network, no view of other files, "
               "limited time and memory. You get the cases passed, the likely mistake and "
               "heatmaps of the expected values against yours.")
    ok, reason = sandbox.available()
    if not ok:
        st.error(as_markdown(f"The checker cannot run on this server: {reason}.")
                 + " Nothing is graded here; on your own machine, `cnnviz check FILE` grades "
                   "your file.")
        return
    choice = st.selectbox("Task", [FIND_TASK, *COURSE_FILES, "homework"],
                          format_func=task_label,
                          key="check_task")
    source = source_ui()
    if source is not None:
        tasks = tasks_ui(*source, None if choice == FIND_TASK else choice)
        if tasks:
            submit_ui(*source, tasks)
    state[POLL] = queue.poll_seconds(state[TICKET][0].place) if TICKET in state else None
    st.fragment(status_ui, run_every=state[POLL])()
    if RESULT in state:
        report_ui(*state[RESULT])


main()
