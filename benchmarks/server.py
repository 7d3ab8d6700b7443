"""The server under test: start `cnnviz app` on a free local port (one server, or K replicas
behind HAProxy), find a running one, and sample its process tree's memory and CPU.

Shared by the browser helpers (benchmarks/browser.py, tests/e2e) and the classroom load test.
"""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cnnviz.serving.launch import SERVER_MODULE
from cnnviz.serving.replicas import free_port, stop
from cnnviz.training import processes

ROOT = Path(__file__).resolve().parents[1]
LEFT_SECONDS = 5.0  # what is left of a stopped server's session gets this long to end by itself


@dataclass(frozen=True)
class Server:
    url: str  # http://127.0.0.1:PORT
    pid: int  # the streamlit process (the root of the tree the sampler reads)


@contextlib.contextmanager
def started_server(env: dict[str, str] | None = None, options: Sequence[str] = (), *,
                   timeout: float = 90) -> Iterator[Server]:
    """`cnnviz app` (the checkout's app; it becomes the Streamlit server) on a free local port;
    yields it, then stops it.

    env is added to this process's environment (e.g. CNNVIZ_RUNS_DIR); options go to
    `streamlit run` (e.g. ["--server.disconnectedSessionTTL", "10"]). The server's output goes to
    a temporary log whose tail is raised with the error when the server does not come up.
    """
    port = free_port()
    command = [sys.executable, "-m", "cnnviz", "app", "--port", str(port), "--address", "127.0.0.1",
               "--server.fileWatcherType", "none", *options]
    with _serving(command, port, env, timeout, stop_seconds=15) as server:
        yield server


@contextlib.contextmanager
def started_replicas(replicas: int, env: dict[str, str] | None = None, *,
                     timeout: float = 180) -> Iterator[Server]:
    """`cnnviz app --replicas K` (HAProxy, K servers, a Ray head) on a free loopback port; yields
    the proxy's URL and the launcher's pid (the root of the whole tree), then stops it all."""
    port = free_port()
    command = [sys.executable, "-m", "cnnviz", "app", "--replicas", str(replicas),
               "--port", str(port), "--address", "127.0.0.1", "--server.fileWatcherType", "none"]
    with _serving(command, port, env, timeout, stop_seconds=60) as server:  # it stops its own
        yield server


@contextlib.contextmanager
def _serving(command: list[str], port: int, env: dict[str, str] | None, timeout: float,
             stop_seconds: float) -> Iterator[Server]:
    """Run command (in a session of its own) until 127.0.0.1:port answers its health check;
    yield it; terminate it, then whatever it left in its session (said on stderr: a bug)."""
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
                                   start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while not healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"{' '.join(command[2:4])} did not start on port {port}:"
                                       f"\n{log.read()[-3000:]}")
                time.sleep(0.1)
            yield Server(url, process.pid)
        finally:
            stop(process, stop_seconds)
            _end_session(process.pid)


def _end_session(session: int) -> None:
    """Kill what a stopped server left in its session (Ray's agents once stayed for minutes),
    after LEFT_SECONDS, and say so: the next measurement must not share the cores with it."""
    left = processes.in_sessions([session])
    if not left:
        return
    stuck = processes.end_within(left, LEFT_SECONDS)
    print(f"benchmarks: {len(left)} process(es) of the stopped server's session were still running "
          f"(pids {', '.join(str(process.pid) for process in left)}); those left after "
          f"{LEFT_SECONDS:g} s were killed" + (f", {len(stuck)} would not die" if stuck else ""),
          file=sys.stderr, flush=True)


@contextlib.contextmanager
def streamlit_server(env: dict[str, str] | None = None, *, timeout: float = 90) -> Iterator[str]:
    """started_server(env), yielding its URL only."""
    with started_server(env, timeout=timeout) as server:
        yield server.url


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.read() == b"ok"
    except OSError:
        return False


def listening_pid(url: str) -> int:
    """The process listening on url's port on this machine (the server, or the proxy before it)."""
    import psutil

    port = urlsplit(url).port or 80
    for connection in psutil.net_connections(kind="tcp"):
        listening = connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
        if listening and connection.pid:
            return connection.pid
    raise ValueError(f"no process of this machine listens on port {port} of --url {url}: "
                     "give the server's process id with --server-pid")


@dataclass(frozen=True)
class Sample:
    """One reading of the server's process tree: MiB of RSS, CPU in % of one core."""

    rss_mb: float  # the whole tree, summed (pages shared between processes counted per process)
    server_rss_mb: float  # the Streamlit processes alone (where the sessions live)
    cpu: float  # the whole tree (training runs, Ray, a proxy included)
    server_cpu: float


@dataclass
class TreeSampler:
    """Memory and CPU of a process and all its descendants (training children, Ray workers);
    "server" figures sum the processes that run Streamlit (the root, or the replicas under a
    `cnnviz app --replicas` launcher)."""

    root: int
    _processes: dict = field(default_factory=dict)

    def sample(self) -> Sample:
        """The tree now; CPU since the previous call (0 for processes seen the first time)."""
        import psutil

        try:
            top = psutil.Process(self.root)
            tree = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return Sample(0.0, 0.0, 0.0, 0.0)
        rss = cpu = server_rss = server_cpu = 0.0
        alive = {}
        for process in tree:
            known = self._processes.get(process.pid, process)
            try:
                process_rss, process_cpu = known.memory_info().rss, known.cpu_percent(None)
            except psutil.NoSuchProcess:
                continue
            rss, cpu = rss + process_rss, cpu + process_cpu
            if _runs_streamlit(known):
                server_rss, server_cpu = server_rss + process_rss, server_cpu + process_cpu
            alive[process.pid] = known
        self._processes = alive
        return Sample(rss / 2**20, server_rss / 2**20, cpu, server_cpu)


def _runs_streamlit(process) -> bool:
    import psutil

    try:
        words = process.cmdline()[1:4]  # `-m streamlit run`, or `-m cnnviz.serving.boot run`
        return "streamlit" in words or SERVER_MODULE in words
    except psutil.Error:
        return False
