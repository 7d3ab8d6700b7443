"""The student's process: syntax errors, hangs, huge allocations, missing functions, exceptions
and odd return values each end cleanly with exit code 2 and one clear paragraph."""

import textwrap
import time

import numpy as np
import pytest

from cnnviz.check import cli

LIMITS = ["--random", "2", "--timeout", "3", "--memory-mb", "1024"]
HANG_GUARD_SECONDS = 60  # a hang would otherwise block the suite; normal runs take a few seconds
POOL = "def pool_forward(A_prev, kernel_shape, stride=(1, 1), mode='max'):"

SOLUTIONS = {  # name -> (source, words the paragraph must contain)
    "syntax error": (f"""
        import numpy as np

        {POOL}
            return A_prev +
        """, ["cannot read it", "line 5", "return A_prev +"]),
    "infinite loop": (f"""
        {POOL}
            while True:
                pass
        """, ["did not finish within 3 s", "loop that never ends"]),
    "10 GB allocation": (f"""
        import numpy as np

        {POOL}
            return np.ones(10 * 2**30 // 8)
        """, ["ran out of memory", "1024 MiB", "line 5, in pool_forward",
              "np.ones(10 * 2**30 // 8)"]),
    "hang at import": (f"""
        while True:
            pass

        {POOL}
            return A_prev
        """, ["cannot be graded", "did not finish within 3 s", "imported"]),
    "exception": (f"""
        {POOL}
            return A_prev[:, :, :, 99]
        """, ["raised IndexError", "line 3, in pool_forward", "A_prev[:, :, :, 99]"]),
    "exception at import": (f"""
        import numpy as np
        np.load('MNIST.npz')

        {POOL}
            return A_prev
        """, ["cannot be graded", "FileNotFoundError", "line 3, in <module>"]),
    "no return": (f"""
        {POOL}
            A = A_prev[:, ::2, ::2]
        """, ["returned None", "`return` statement missing"]),
    "ragged return": (f"""
        import numpy as np

        {POOL}
            return [np.zeros(2), np.zeros(3)]
        """, ["returned a list, not an array of numbers"]),
    "wrong shape": (f"""
        {POOL}
            return A_prev
        """, ["returned A of shape (10, 28, 28, 2) instead of (10, 14, 14, 2)"]),
    "segmentation fault": (f"""
        import ctypes

        {POOL}
            return ctypes.string_at(0)
        """, ["was killed by signal SIGSEGV"]),
    "sys.exit": (f"""
        import sys

        {POOL}
            sys.exit(3)
        """, ["raised SystemExit"]),
}


def solution(tmp_path, source: str, name: str = "solution.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


@pytest.mark.parametrize("name", list(SOLUTIONS))
def test_check_bad_solution_ends_cleanly_with_exit_2(name, tmp_path, capsys):
    source, words = SOLUTIONS[name]
    path = solution(tmp_path, source)
    started = time.monotonic()
    assert cli.main([str(path), *LIMITS]) == 2
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    output = capsys.readouterr().out
    for word in words:
        assert word in output, output
    assert "cnnviz/check" not in output  # the student's traceback lines, not ours


def test_check_missing_function_names_what_the_file_defines(tmp_path, capsys):
    path = solution(tmp_path, """
        def conv_fwd(A_prev, W, b, activation, padding='same', stride=(1, 1)):
            return A_prev
        """, name="0-conv_forward.py")
    assert cli.main([str(path), *LIMITS]) == 2  # the task comes from the course's file name
    assert "defines no function conv_forward (it defines: conv_fwd)" in capsys.readouterr().out


def test_check_file_without_a_course_function_asks_for_the_task(tmp_path, capsys):
    assert cli.main([str(solution(tmp_path, "x = 1\n", name="notes.py"))]) == 2
    assert "--task" in capsys.readouterr().out


def test_check_missing_file_is_explained(tmp_path, capsys):
    assert cli.main([str(tmp_path / "0-conv_forward.py")]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_check_later_cases_are_not_run_after_a_time_out(tmp_path, capsys):
    cli.main([str(solution(tmp_path, SOLUTIONS["infinite loop"][0])), *LIMITS])
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith(("course:", "random"))]
    assert "TIMEOUT" in rows[0] and all(row.endswith("not run") for row in rows[1:])


def test_shared_read_only_cases_have_their_input_files_made_once(tmp_path):
    from cnnviz.check import runner, solution
    from cnnviz.check.cases import random_cases

    shared = list(solution.graded_cases("pool_forward", 2, 3, "all"))
    ids = {case.name: f"{index:03d}" for index, case in enumerate(shared)}
    files = runner._case_files(shared, ids)
    assert runner._case_files(list(shared), ids) is files  # the same cases: kept
    assert set(files) == {"cases.json", *(f"in-{i}.npz" for i in ids.values())}
    fresh = random_cases("pool_forward", 2, 3)  # writable: they could change, never kept
    fresh_ids = {case.name: f"{index:03d}" for index, case in enumerate(fresh)}
    made = runner._case_files(fresh, fresh_ids)
    assert runner._case_files(fresh, fresh_ids) is not made
    runner._write_cases(tmp_path, shared, ids)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == files
    with np.load(tmp_path / "in-001.npz") as saved:
        np.testing.assert_array_equal(saved["A_prev"], shared[1].args["A_prev"])
