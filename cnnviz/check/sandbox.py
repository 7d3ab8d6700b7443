"""The sandbox a graded file runs in: Debian's bubblewrap (`bwrap`) around runner's child.

What the student's process gets: its own network namespace with no network (not even the host's
127.0.0.1), its own PID, IPC and UTS namespaces, a root made of read-only binds of /usr, the Python
interpreter and its site-packages, the grader's child.py and the case folder (`/io`, read-only
but for the files the child writes its results to), an empty private `/tmp` and working folder
(`/student`, size-limited tmpfs) holding only the student's file, and a cleared environment. On top
of runner's limits (time, memory, CPU) it gets a process limit and a smaller file-size limit.

RLIMIT_NPROC does not bind root (the kernel exempts uid 0), so when the grader runs as root the
child drops to a fresh unprivileged uid inside the sandbox (`setpriv`), which also drops every
capability bwrap keeps for root. An unprivileged grader needs user namespaces; bwrap creates one,
in which the process count is the sandbox's own.
"""

import functools
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHILD = Path(__file__).resolve().parent / "child.py"
SCRIPTS = (CHILD, CHILD.with_name("keras_child.py"),  # tasks 5 and 4: they import child.py
           CHILD.with_name("tf1_child.py"))
INSIDE_GRADER = "/grader"
INSIDE_CHILD = f"{INSIDE_GRADER}/child.py"
INSIDE_IO = "/io"
INSIDE_WORK = "/student"
MAX_PROCESSES = 64  # threads count too; the child needs one (one BLAS thread)
MAX_FILE_BYTES = 64 * 2**20  # any file it writes; results of the course's cases are far smaller
TMPFS_BYTES = 64 * 2**20  # each of /tmp and /student: memory, not the server's disk
UID_RANGE = (3_000_000_000, 3_100_000_000)  # unused by anyone here: its own process count
PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # CPU workarounds some hosts need
NO_NETWORK = "the grader runs your file without any network"
OWN_FOLDER = "in the grader your file sees only its own folder, read-only, and an empty /tmp"
SPACE = (f"in the grader your file may write only to its own folder and /tmp, "
         f"{TMPFS_BYTES // 2**20} MiB each")
OWN_PROCESSES = "in the grader your file sees, and may signal, only its own processes"
HINTS = {  # exception names -> what the sandbox did, for the student's paragraph
    "ConnectionRefusedError": NO_NETWORK, "ConnectionError": NO_NETWORK, "gaierror": NO_NETWORK,
    "PermissionError": OWN_FOLDER, "FileNotFoundError": OWN_FOLDER, "OSError": SPACE,
    "BlockingIOError": f"the grader allows at most {MAX_PROCESSES} processes and threads",
    "ProcessLookupError": OWN_PROCESSES,
}
BWRAP_ENV = {"PATH": "/usr/bin:/bin"}  # bwrap's own: its pid 1 is visible to the child
CALLS = {"kill": OWN_PROCESSES, "socket": NO_NETWORK, "connect": NO_NETWORK, "url": NO_NETWORK}


def _python_paths() -> list[str]:
    """Folders Python and NumPy are read from (deduplicated; /usr is bound whole anyway)."""
    numpy_site = str(Path(np.__file__).resolve().parents[1])
    folders = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, numpy_site]
    kept = []
    for folder in sorted({os.path.realpath(f) for f in folders} | set(folders), key=len):
        if not any(folder == k or folder.startswith(k + "/") for k in ["/usr", *kept]):
            kept.append(folder)
    return kept


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    return args


def _environment() -> list[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": INSIDE_WORK, "TMPDIR": "/tmp", "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env |= {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    return ["--clearenv", *[arg for name, value in env.items()
                            for arg in ("--setenv", name, value)]]


@dataclass(frozen=True)
class Box:
    """One run's sandbox: the case folder `io` (its `writable` files made), the student's file
    copied into it, and the uid the child drops to (None when the grader is not root)."""

    io: Path
    writable: tuple[str, ...]
    student: Path
    uid: int | None


def prepare(io: Path, writable: list[str], source: Path) -> Box:
    """Create the `writable` files in `io`, copy the student's file at `source` into it, and give
    them all to the sandbox's uid: nobody else on the host may read or write them."""
    uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) if os.geteuid() == 0 \
        else None
    folder = io / "student"
    folder.mkdir()
    copy = folder / source.name
    shutil.copyfile(source, copy)
    for path in [io, folder, copy, *(io / name for name in writable)]:
        path.touch()
        if uid is not None:
            os.chown(path, uid, uid)
    return Box(io, tuple(writable), copy, uid)


def command(box: Box, child_args: list[str], script: str = CHILD.name) -> list[str]:
    """The whole command line: `python -I child.py /io /student/NAME *child_args` in the
    sandbox (`script`: one of SCRIPTS' names, child.py by default)."""
    return [*_wrapper(box), sys.executable, "-I", f"{INSIDE_GRADER}/{script}", INSIDE_IO,
            f"{INSIDE_WORK}/{box.student.name}", *child_args]


def _wrapper(box: Box) -> list[str]:
    """bwrap, then (as root) a drop to the box's uid, then the process and file-size limits."""
    drop = []
    if box.uid is not None:
        drop = ["setpriv", f"--reuid={box.uid}", f"--regid={box.uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    limits = ["prlimit", f"--nproc={MAX_PROCESSES}", f"--fsize={MAX_FILE_BYTES}", "--"]
    return [shutil.which("bwrap") or "bwrap", *_bwrap_args(box), "--", *drop, *limits]


def _bwrap_args(box: Box) -> list[str]:
    """bwrap's options: namespaces, the read-only system and Python, /io (read-only but the
    box's writable files), and /student holding the student's file."""
    args = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            *_system_binds(), "--proc", "/proc", "--dev", "/dev"]
    for folder in ("/tmp", INSIDE_WORK):  # first: a Python under /tmp is bound over it
        args += ["--size", str(TMPFS_BYTES), "--perms", "1777", "--tmpfs", folder]
    folders = _python_paths()
    inside = [*folders, INSIDE_CHILD, "/etc/ld.so.cache"]
    parents = sorted({str(p) for f in inside for p in Path(f).parents if str(p) != "/"}, key=len)
    for parent in parents:  # bwrap makes missing parents 0700: closed to the dropped uid
        args += ["--perms", "0755", "--dir", parent]
    for folder in folders:
        args += ["--ro-bind", folder, folder]
    if Path("/etc/ld.so.cache").exists():
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for script in SCRIPTS:
        args += ["--ro-bind", str(script), f"{INSIDE_GRADER}/{script.name}"]
    args += ["--ro-bind", str(box.io), INSIDE_IO]
    for name in box.writable:
        args += ["--bind", str(box.io / name), f"{INSIDE_IO}/{name}"]
    args += ["--ro-bind", str(box.student), f"{INSIDE_WORK}/{box.student.name}",
             "--chdir", INSIDE_WORK]
    return args + _environment()


def hint(message: str, traceback: str) -> str:
    """What the sandbox did, for a failure "raised NAME ..." whose traceback is `traceback`: by
    the call on the failing line, else by the exception's name."""
    words = message.split()
    if len(words) < 2 or words[0] != "raised" or words[1] not in HINTS:
        return ""
    lines = traceback.strip().splitlines()
    failing = lines[-2] if len(lines) >= 2 else ""
    return next((said for call, said in CALLS.items() if call in failing), HINTS[words[1]])


@functools.cache
def available() -> tuple[bool, str]:
    """(True, "") when Python with NumPy starts in the sandbox here, else (False, the reason)."""
    missing = [tool for tool in ("bwrap", "prlimit") if shutil.which(tool) is None]
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        missing.append("setpriv")
    if missing:
        return False, (f"{', '.join(missing)} not found: install Debian's "
                       f"{'bubblewrap' if 'bwrap' in missing else 'util-linux'} "
                       f"(scripts/system-deps.sh)")
    with tempfile.TemporaryDirectory(prefix="cnnviz-sandbox-") as folder:
        source = Path(folder) / "probe.py"
        source.write_text("")
        io = Path(folder) / "io"
        io.mkdir()
        args = [*_wrapper(prepare(io, [], source)), sys.executable, "-I", "-c", "import numpy"]
        try:
            done = subprocess.run(args, capture_output=True, timeout=60, check=False,
                                  stdin=subprocess.DEVNULL, env=BWRAP_ENV)
        except (OSError, subprocess.TimeoutExpired) as error:
            return False, f"bwrap did not run ({error})"
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        return False, (f"bwrap failed: {said[-1] if said else f'exit code {done.returncode}'}"
                       + ("; are user namespaces disabled? (sysctl user.max_user_namespaces)"
                          if os.geteuid() != 0 else ""))
    return True, ""
