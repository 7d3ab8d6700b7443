"""cnnviz.check.solution: which task a file is, what an uploaded name becomes, what is refused."""

import ast
import threading
import time
from pathlib import Path

import pytest

from cnnviz.check import parsing, solution

CONV = "def conv_forward(A_prev, W, b, activation, padding='same', stride=(1, 1)):\n    pass\n"
POOL = "def pool_forward(A_prev, kernel_shape, stride=(1, 1), mode='max'):\n    pass\n"


@pytest.mark.parametrize("name, source, found", [
    ("0-conv_forward.py", CONV + POOL, ["conv_forward"]),  # the course name first
    ("1-pool_forward.py", CONV + POOL, ["pool_forward"]),
    ("0-conv_forward.py", POOL, ["pool_forward"]),  # its function missing: what it defines
    ("mine.py", CONV + POOL, ["conv_forward", "pool_forward"]),
    ("2-conv_backward.py", "x = 1\n", ["conv_backward"]),  # nothing defined: the name alone
])
def test_the_task_comes_from_the_course_name_then_the_functions(name, source, found):
    assert solution.find_tasks_in(source, name) == found


def test_no_task_found_and_the_task_given():
    with pytest.raises(ValueError, match="defines none of the course's functions"):
        solution.find_tasks_in("def convolve(x):\n    return x\n", "mine.py")
    assert solution.find_tasks_in(POOL, "mine.py", "pool_backward") == ["pool_backward"]
    with pytest.raises(SyntaxError):
        solution.find_tasks_in("def conv_forward(:\n", "0-conv_forward.py")


@pytest.mark.parametrize("name, kept", [
    ("0-conv_forward.py", "0-conv_forward.py"), ("C:\\Users\\ada\\1-pool_forward.py",
                                                 "1-pool_forward.py"),
    ("../../etc/passwd", "solution.py"), ("[x](http://e).py", "solution.py"),
    (".hidden.py", "solution.py"), ("notes.txt", "solution.py"),
])
def test_an_uploaded_name_is_kept_only_when_plain(name, kept):
    assert solution.safe_name(name) == kept


@pytest.mark.parametrize("data, words", [
    (b"#" * (solution.MAX_SOLUTION_BYTES + 1), "up to 1024 KiB"),
    ("x = 'é'\n".encode("latin-1"), "not UTF-8 text (byte 5)"),
])
def test_refused_before_anything_runs(data, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        solution.decode(data, "0-conv_forward.py")


def test_a_declared_encoding_is_honoured():
    assert solution.decode("# coding: latin-1\nx = 'é'\n".encode("latin-1"), "a.py").endswith(
        "x = 'é'\n")


# --- many sessions at once (the Check page's script threads) -----------------------------------

class _Finalized:
    """Cyclic garbage whose finalizer runs Python code: the collector may switch threads there."""

    def __del__(self):
        sum(range(50))


def test_sessions_finding_tasks_at_once_all_get_their_task():
    source = (Path(__file__).parent / "fixtures" / "course" / "2-conv_backward.py").read_text()
    found, failures = [], []

    def find(depth: int) -> None:
        if depth:  # each thread parses from another depth of its stack, as script threads do
            return find(depth - 1)
        for _ in range(40):
            for _ in range(50):
                garbage = _Finalized()
                garbage.me = garbage
            try:
                found.append(solution.find_tasks_in(source * 4, "2-conv_backward.py"))
            except SystemError as error:  # Python < 3.11.8 without the lock
                failures.append(str(error))

    threads = [threading.Thread(target=find, args=(7 * n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and found == [["conv_backward"]] * 8 * 40


def test_students_files_are_parsed_one_at_a_time(monkeypatch):
    # ast.parse is not thread-safe before Python 3.11.8 (python/cpython#106905): sessions that
    # upload together must not parse at once
    inside, most = [0], [0]
    real_parse = ast.parse

    def slow_parse(source, filename="<unknown>"):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.02)
        inside[0] -= 1
        return real_parse(source, filename=filename)

    monkeypatch.setattr(parsing.ast, "parse", slow_parse)
    threads = [threading.Thread(target=solution.find_tasks_in,
                                args=("def conv_forward(): pass\n", "0-conv_forward.py"))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert most[0] == 1


@pytest.mark.parametrize("task", ["conv_backward", "back_propagation"])
def test_a_tasks_cases_are_computed_once_and_shared_read_only(task, monkeypatch):
    first = solution.graded_cases(task, 3, 7, "all")
    calls = []
    monkeypatch.setattr(solution, "random_cases", lambda *a: calls.append(a) or [])
    monkeypatch.setattr(solution.homework, "cases", lambda *a: calls.append(a) or [])
    assert solution.graded_cases(task, 3, 7, "all") is first and not calls  # cached
    assert solution.graded_cases(task, 3, 8, "all") is not first and calls  # other options
    arrays = [value for case in first for value in (*case.args.values(), *case.expected)
              if hasattr(value, "flags")]
    arrays += [value for case in first for d in case.args.values() if isinstance(d, dict)
               for value in d.values() if hasattr(value, "flags")]
    assert arrays and not any(array.flags.writeable for array in arrays)
    with pytest.raises(ValueError, match="read-only"):
        first[0].expected[0][...] = 0
