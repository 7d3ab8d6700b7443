"""`cnnviz check --sandbox`: hostile solutions each end with a clear paragraph, see nothing of the
server (its environment, files, network, processes) and leave the test process running."""

import os
import socket
import subprocess
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cnnviz.check import cli, runner, sandbox
from cnnviz.check.cases import course_cases
from cnnviz.check.grade import grade

LIMITS = ["--random", "1", "--timeout", "3", "--memory-mb", "1024", "--sandbox"]
HANG_GUARD_SECONDS = 30  # a sandboxed run takes about a second; time-outs 3 s
POOL = "def pool_forward(A_prev, kernel_shape, stride=(1, 1), mode='max'):"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "course"
SECRET = "s3cr3t-teacher-token"


@pytest.fixture(autouse=True)
def bubblewrap():
    ok, reason = sandbox.available()
    if not ok:
        message = f"the sandbox cannot start here: {reason}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI installs bubblewrap: scripts/system-deps.sh)")
        pytest.skip(message)


def check(tmp_path, source, name="solution.py") -> int:
    """The exit code of a sandboxed check of `source` (text, dedented, or bytes)."""
    path = tmp_path / name
    if isinstance(source, bytes):
        path.write_bytes(source)
    else:
        path.write_text(textwrap.dedent(source))
    started = time.monotonic()
    code = cli.main([str(path), *LIMITS])
    assert time.monotonic() - started < HANG_GUARD_SECONDS
    return code


def printed(capsys) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.fixture
def server_files(tmp_path):
    """A folder standing for the server's runs/ with a secret in it, beside the solution."""
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "secret.txt").write_text(SECRET)
    return runs


def test_sandbox_hides_the_server_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CNNVIZ_TEACHER_TOKEN", SECRET)
    assert check(tmp_path, f"""
        import os

        {POOL}
            raise RuntimeError("token=" + os.environ.get("CNNVIZ_TEACHER_TOKEN", "none")
                               + " " + " ".join(f"{{k}}={{v}}" for k, v in os.environ.items()))
        """) == 2
    out = printed(capsys)
    assert "raised RuntimeError" in out and "token=none" in out
    assert SECRET not in out


def test_sandbox_cannot_read_a_file_outside_its_folder(tmp_path, capsys, server_files):
    assert check(tmp_path, f"""
        {POOL}
            return open({str(server_files / "secret.txt")!r}).read()
        """) == 2
    out = printed(capsys)
    assert "raised FileNotFoundError" in out and "sees only its own folder" in out
    assert SECRET not in out


def test_sandbox_cannot_list_runs(tmp_path, capsys, server_files):
    assert check(tmp_path, f"""
        import os

        {POOL}
            raise RuntimeError(str(os.listdir({str(server_files)!r})))
        """) == 2
    out = printed(capsys)
    assert "raised FileNotFoundError" in out and "secret.txt" not in out


def test_sandbox_cannot_write_outside_its_folder(tmp_path, capsys):
    outside, system = tmp_path / "written.txt", Path(os.__file__).parent / "written.txt"
    assert check(tmp_path, f"""
        {POOL}
            for path in ({str(system)!r}, {str(outside)!r}):
                try:
                    open(path, "w").write("x")
                except OSError as error:
                    print(error)
                else:
                    return A_prev
            open({str(outside)!r}, "w").write("x")
        """) == 2
    out = printed(capsys)
    written = [path for path in (outside, system) if path.exists()]
    for path in written:  # a sandbox that let it through must not leave it in Python's folder
        path.unlink()
    assert "raised FileNotFoundError" in out and "sees only its own folder" in out
    assert not written


def test_sandbox_has_no_network(tmp_path, capsys):
    with socket.socket() as server:  # stands for the app's own port
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        assert check(tmp_path, f"""
            import socket

            {POOL}
                socket.create_connection(("127.0.0.1", {port}), timeout=2)
            """) == 2
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody came
    out = printed(capsys)
    assert "raised ConnectionRefusedError" in out and "without any network" in out


def test_sandbox_limits_processes(tmp_path, capsys):
    assert check(tmp_path, f"""
        import os
        import time

        {POOL}
            for _ in range(500):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
        """) == 2
    out = printed(capsys)
    assert "raised BlockingIOError" in out
    assert f"at most {sandbox.MAX_PROCESSES} processes" in out


def test_sandbox_child_runs_niced_and_cannot_raise_its_priority(tmp_path, capsys):
    assert check(tmp_path, f"""
        import os

        {POOL}
            niceness = os.nice(0)
            try:
                os.nice(-niceness)
                raised = "no"
            except PermissionError:
                raised = "yes"
            raise RuntimeError(f"niceness={{niceness}} refused={{raised}} now={{os.nice(0)}}")
        """) == 2
    out = printed(capsys)
    expected = os.nice(0) + runner.CHILD_NICENESS
    assert f"niceness={expected} refused=yes now={expected}" in out, out


def test_sandbox_cannot_kill_the_grader_or_its_processes(tmp_path, capsys):
    bystander = subprocess.Popen(["sleep", "60"])  # another student's process, say
    try:
        assert check(tmp_path, f"""
            import os
            import signal

            {POOL}
                os.kill(os.getppid(), signal.SIGKILL)
                os.kill({bystander.pid}, signal.SIGKILL)
            """) == 2
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    out = printed(capsys)
    assert "raised PermissionError" in out or "raised ProcessLookupError" in out
    assert "may signal, only its own processes" in out


@pytest.mark.parametrize("body, words", [
    ("return np.ones(20 * 2**30 // 8)", ["ran out of memory", "1024 MiB"]),
    ("while True:\n        pass", ["did not finish within 3 s", "loop that never ends"]),
    ("time.sleep(3600)", ["did not finish within 3 s"]),
    ("while True:\n        sys.stdout.write('x' * 2**20)",
     [f"printed more than {runner.MAX_OUTPUT_BYTES // 2**20} MiB", "the grader reads no prints"]),
    ("return {'A': A_prev}", ["returned a dict, not an array of numbers"]),
    ("big = open('/tmp/big', 'wb')\n    while True:\n        big.write(bytes(2**20))",
     ["raised OSError", f"{sandbox.TMPFS_BYTES // 2**20} MiB each"]),
], ids=["20 GB", "endless loop", "sleep", "prints a gigabyte", "dict", "fills /tmp"])
def test_sandbox_stops_a_runaway_solution(tmp_path, capsys, body, words):
    source = f"import sys\nimport time\n\nimport numpy as np\n\n\n{POOL}\n    {body}\n"
    assert check(tmp_path, source) == 2
    out = printed(capsys)
    for word in words:
        assert word in out, out


def test_sandbox_refuses_forged_results(tmp_path, capsys):
    """Results the student's code writes itself are read as plain arrays or refused."""
    assert check(tmp_path, f"""
        import json
        import os

        import numpy as np

        {POOL}
            step = open("/io/progress").read().split()[-1]
            np.savez(f"/io/out-{{step}}.npz", np.array([object()], dtype=object))
            open(f"/io/status-{{step}}.json", "w").write(json.dumps({{"kind": "ok"}}))
            os._exit(0)
        """) == 2
    assert "left a result that is not plain arrays of numbers" in printed(capsys)


@pytest.mark.parametrize("source, words", [
    (b"# caf\xe9\n" + f"{POOL}\n    return A_prev\n".encode(),
     ["is not UTF-8 text (byte 5)", "save it as UTF-8"]),
    ("x = 1\n" * 900_000, ["is 5.1 MiB", "up to 1024 KiB"]),
    (f"{POOL}\n    return A_prev +\n", ["cannot read it", "line 2"]),
    ("x = " + "-" * 100_000 + "1\n", ["too deeply nested for Python to read"]),
], ids=["not UTF-8", "5 MB", "syntax error", "deep nesting"])
def test_sandbox_unreadable_file_is_refused_up_front(tmp_path, capsys, source, words):
    assert check(tmp_path, source, name="1-pool_forward.py") == 2
    out = printed(capsys)
    for word in words:
        assert word in out, out


def test_sandbox_right_solution_gets_the_same_report(capsys):
    path = str(FIXTURES / "0-conv_forward.py")
    assert cli.main([path, "--random", "2"]) == 0
    plain = capsys.readouterr().out
    assert cli.main([path, "--random", "2", "--sandbox"]) == 0
    assert capsys.readouterr().out == plain


def test_sandbox_missing_is_said_and_nothing_graded(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    sandbox.available.cache_clear()
    try:
        assert sandbox.available() == (False, "bwrap, prlimit"
                                       + (", setpriv" if os.geteuid() == 0 else "")
                                       + " not found: install Debian's bubblewrap "
                                         "(scripts/system-deps.sh)")
        assert check(tmp_path, f"{POOL}\n    return A_prev\n") == 2
    finally:
        sandbox.available.cache_clear()
    out = printed(capsys)
    assert "The sandbox cannot start: bwrap" in out and "Nothing was graded" in out
    assert "cases pass" not in out


def test_sandbox_kills_everything_it_started_on_time_out(tmp_path, capsys):
    marker = f"cnnviz-sandbox-{os.getpid()}-{time.monotonic_ns()}"
    check(tmp_path, f"""
        import subprocess
        import sys

        {POOL}
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {marker!r}])
            while True:
                pass
        """)
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, check=False)
    assert left.stdout == b"", "a process the solution started outlived the sandbox"
    assert "did not finish within 3 s" in printed(capsys)


def test_sandbox_fork_bomb_leaves_another_student_graded(tmp_path):
    """Two files graded at once: one exhausts its process limit, the other still passes."""
    bomb = tmp_path / "bomb" / "1-pool_forward.py"
    bomb.parent.mkdir()
    bomb.write_text(f"import os\nimport time\n\n\n{POOL}\n    while True:\n"
                    f"        if os.fork() == 0:\n            time.sleep(30)\n"
                    f"            os._exit(0)\n")
    cases = course_cases("pool_forward")
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(runner.run_solution, path, "pool_forward", cases, timeout=10,
                            sandbox=True) for path in (bomb, FIXTURES / "1-pool_forward.py")]
        bombed, right = (run.result(timeout=HANG_GUARD_SECONDS) for run in runs)
    assert all(o.message == "raised BlockingIOError" for o in bombed.outcomes.values())
    assert all(grade(case, right.outcomes[case.name]).status == "pass" for case in cases)


def test_sandbox_files_belong_to_the_sandbox_alone(tmp_path):
    """The case folder, the results and the student's copy: the sandbox's uid's, closed to
    others (a fresh unprivileged uid when the grader is root)."""
    io, source = tmp_path / "io", tmp_path / "1-pool_forward.py"
    io.mkdir(mode=0o700)
    source.write_text("x = 1\n")
    box = sandbox.prepare(io, ["progress"], source)
    owner = os.geteuid() if box.uid is None else box.uid
    if os.geteuid() == 0:
        assert sandbox.UID_RANGE[0] <= box.uid < sandbox.UID_RANGE[1]
    assert all(path.stat().st_uid == owner for path in (io, box.student, io / "progress"))
    assert io.stat().st_mode & 0o077 == 0 and box.student.read_text() == "x = 1\n"
