"""`cnnviz app --replicas K`: K Streamlit servers behind HAProxy, sharing one Ray and one runs/.

Streamlit keeps each session in the memory of one process and runs every session's script on
threads of that process (one GIL), so a class that outgrows one process needs several, and a proxy
that keeps each browser on its replica: deploy/haproxy.cfg (cookie stickiness, websocket timeouts),
rendered here with the replicas' ports. The replicas listen on 127.0.0.1 only; the proxy listens
where the class connects. All replicas write runs into the same folder (CNNVIZ_RUNS_DIR) and send
training jobs to the same Ray cluster (CNNVIZ_RAY_ADDRESS): the one given, else a head started here
with `ray start --head`. The teacher's token comes in `env` (launch.server_env): one for all
replicas, so the teacher's link works whichever replica HAProxy picks. Every part is supervised
(cnnviz.serving.supervise): restarted with backoff when it dies, on the same port, and given up on
when it keeps dying (HAProxy given up on ends the launcher). Ctrl-C, SIGTERM or a closed terminal
stops them all within supervise.STOP_SECONDS, hung or not.
"""

import json
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from string import Template

from cnnviz import paths
from cnnviz.classroom.overview import REPLICA_ENV
from cnnviz.serving.supervise import Supervisor, last_line
from cnnviz.training.limits import RAY_SYSTEM_CONFIG, max_runs
from cnnviz.training.service import ADDRESS_ENV

STOP_SECONDS = 15  # how long a process may take to stop before it is killed


def haproxy_config(bind: str, ports: list[int]) -> str:
    """deploy/haproxy.cfg with `bind` (address:port) and one sticky server per replica port."""
    servers = "\n".join(f"    server replica{k} 127.0.0.1:{port} cookie r{k} check"
                        for k, port in enumerate(ports, start=1))
    return Template(paths.HAPROXY_CONFIG.read_text()).substitute(bind=bind, servers=servers)


def haproxy_binary() -> str:
    """The haproxy command; FileNotFoundError saying how to install it when missing."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise FileNotFoundError("haproxy is missing: install it with `sudo apt-get install "
                                "haproxy` (scripts/system-deps.sh does it)")
    return found


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 90) -> None:
    """Return once something accepts connections on 127.0.0.1:port; RuntimeError if `process`
    exits or `timeout` s pass first."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not come up on port {port} "
                               f"(exit code {process.poll()})")
        time.sleep(0.2)


def stop(process: subprocess.Popen, seconds: float = STOP_SECONDS) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `seconds`."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def ray_head_command(port: int, scratch: Path) -> list[str]:
    """`ray start --head --block` on port, with the embedded Ray's settings (RAY_SYSTEM_CONFIG:
    the replicas, its drivers, take them from the head)."""
    return [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
            f"--port={port}", f"--num-cpus={max_runs()}", "--node-ip-address=127.0.0.1",
            "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={scratch}",
            f"--system-config={json.dumps(RAY_SYSTEM_CONFIG)}"]


def start_ray_head(processes: Supervisor, scratch: Path, env: dict[str, str]) -> str:
    """`ray start --head --block` on a free local port, as many CPUs as runs may train at once
    (cnnviz.training.limits.max_runs), its files under scratch; its address. Ray's ports listen
    on every interface, so env must carry a token (RAY_AUTH_MODE, RAY_AUTH_TOKEN)."""
    port = free_port()
    head = processes.start("ray head", ray_head_command(port, scratch), stdout=subprocess.DEVNULL,
                           env=env, output=scratch / "ray-head.log")  # a death: 1 line
    try:
        wait_for_port(port, head, "the Ray head")
    except RuntimeError as error:
        words = last_line(scratch / "ray-head.log")
        raise RuntimeError(f"{error}: {words}" if words else str(error)) from None
    return f"127.0.0.1:{port}"


STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(command_for: Callable[[int], list[str]], replicas: int, bind: str,
          env: dict[str, str], ray_address: str | None = None) -> int:
    """Run `replicas` servers (command_for(port) each) behind HAProxy on `bind` until stopped
    (0), or until HAProxy keeps dying (1); each part restarted when it dies (supervise.py)."""
    if replicas < 1:
        raise ValueError(f"--replicas {replicas}: give at least 1")
    try:
        haproxy = haproxy_binary()
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    processes = Supervisor()
    # Ctrl-C, kill, the terminal closed: each stops the parts, unless ignored (nohup, `&`)
    before = {signum: signal.getsignal(signum) for signum in STOPPING_SIGNALS}
    for signum, handler in before.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, _interrupt)
    with tempfile.TemporaryDirectory(prefix="cnnviz-") as scratch:
        try:
            start_parts(processes, command_for, replicas, (haproxy, bind), env, ray_address,
                        Path(scratch))
            return processes.run()
        except RuntimeError as error:  # a part that did not come up at the start
            print(f"error: {error}", file=sys.stderr, flush=True)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            for signum in STOPPING_SIGNALS:  # a second Ctrl-C does not cut the stop short
                signal.signal(signum, signal.SIG_IGN)
            began = time.monotonic()
            processes.stop()
            print(f"cnnviz: stopped in {time.monotonic() - began:.1f} s", flush=True)
            for signum, handler in before.items():
                signal.signal(signum, handler)


def start_parts(processes: Supervisor, command_for: Callable[[int], list[str]], replicas: int,
                proxy: tuple[str, str], env: dict[str, str], ray_address: str | None,
                scratch: Path) -> None:
    """Start the Ray head (unless given one), the replicas and HAProxy (proxy: its binary and
    where it listens); print where they are."""
    haproxy, bind = proxy
    ray_address = ray_address or env.get(ADDRESS_ENV)
    if not ray_address:  # our own head, closed to anyone without its token
        env = {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
        ray_address = start_ray_head(processes, scratch, env)
    shared = {**env, ADDRESS_ENV: ray_address,
              # one secret for all replicas: a signed cookie reads the same on each
              "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32)}
    ports = [free_port() for _ in range(replicas)]
    # each replica names itself in the Class page's count of connected students
    servers = [processes.start(f"replica {k}", command_for(port), cwd=paths.HOME,
                               env={**shared, REPLICA_ENV: f"replica{k}"})
               for k, port in enumerate(ports, start=1)]
    for k, (port, server) in enumerate(zip(ports, servers), start=1):
        wait_for_port(port, server, f"replica {k}")
    config = scratch / "haproxy.cfg"
    config.write_text(haproxy_config(bind, ports))
    processes.start("haproxy", [haproxy, "-db", "-f", str(config)], essential=True)
    print(f"cnnviz: {replicas} replica(s) on 127.0.0.1 ports {', '.join(map(str, ports))} "
          f"behind HAProxy on {bind}; Ray at {ray_address}; runs in {env[paths.RUNS_ENV]}. "
          f"Each restarted if it dies; Ctrl-C stops them.", flush=True)
