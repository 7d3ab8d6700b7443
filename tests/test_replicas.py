"""`cnnviz app --replicas K`: the HAProxy config, then two real replicas behind a real HAProxy.

The tests marked `server` start the launcher (2 Streamlit processes, HAProxy, a Ray head) on free
local ports and hold sessions through the proxy with the protocol client of the classroom
benchmark (about a minute on two busy cores).
"""

import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from benchmarks.server import free_port, healthy
from benchmarks.streamlit_protocol import SessionLost, StreamlitSession
from cnnviz import paths
from cnnviz.serving import launch, replicas
from tests import installed

HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


@pytest.fixture(scope="module")
def haproxy():
    installed.need(HAPROXY is not None, "haproxy", "haproxy")
    return HAPROXY


def test_config_is_valid_haproxy_with_one_sticky_server_per_replica(haproxy, tmp_path):
    config = replicas.haproxy_config("127.0.0.1:8600", [8601, 8602, 8603])
    servers = re.findall(r"^ +server replica(\d) 127\.0\.0\.1:(\d+) cookie r\1 check", config,
                         re.MULTILINE)
    assert servers == [("1", "8601"), ("2", "8602"), ("3", "8603")]
    assert "cookie CNNVIZ_REPLICA insert" in config and "timeout tunnel" in config
    assert "balance source" not in config  # a class behind one NAT must not land on one replica
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    check = subprocess.run([haproxy, "-c", "-f", str(path)], check=False, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_replicas_must_be_at_least_one():
    with pytest.raises(ValueError, match="--replicas 0"):
        replicas.serve(lambda port: [], 0, "127.0.0.1:1", {})


def test_the_launchers_ray_head_gets_the_embedded_rays_settings(tmp_path):
    from cnnviz.training import limits

    command = replicas.ray_head_command(6399, tmp_path)
    flags = [word.split("=", 1)[1] for word in command if word.startswith("--system-config=")]
    assert [json.loads(flag) for flag in flags] == [limits.RAY_SYSTEM_CONFIG]
    # a run's reports (a checkpoint in them) come back inline, as from the embedded Ray
    assert limits.RAY_SYSTEM_CONFIG["max_direct_call_object_size"] == limits.REPORT_INLINE_BYTES
    assert limits.REPORT_INLINE_BYTES > 2**20  # Ray's default, 100 KiB, sends a checkpoint away


def test_without_haproxy_the_launcher_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setattr(replicas.shutil, "which", lambda *args, **kwargs: None)
    assert replicas.serve(lambda port: [], 2, "127.0.0.1:1", {}) == 2
    assert "sudo apt-get install haproxy" in capsys.readouterr().err


def test_stopping_signals_stop_the_parts_unless_ignored_and_are_given_back(monkeypatch):
    """Ctrl-C, SIGTERM and a closed terminal stop the parts; under nohup SIGHUP stays ignored."""
    seen, stopped = {}, []

    def start_parts(*args):
        seen.update({signum: signal.getsignal(signum) for signum in replicas.STOPPING_SIGNALS})
        raise KeyboardInterrupt  # as Ctrl-C would, while starting

    monkeypatch.setattr(replicas, "haproxy_binary", lambda: "haproxy")
    monkeypatch.setattr(replicas, "start_parts", start_parts)
    monkeypatch.setattr(replicas.Supervisor, "stop", lambda self: stopped.append(True))
    before = {signum: signal.getsignal(signum) for signum in replicas.STOPPING_SIGNALS}
    try:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        assert replicas.serve(lambda port: [], 2, "127.0.0.1:1", {}, ray_address="ray:1") == 0
        assert all(seen[signum] is replicas._interrupt for signum in replicas.STOPPING_SIGNALS)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup leaves it
        assert replicas.serve(lambda port: [], 2, "127.0.0.1:1", {}, ray_address="ray:1") == 0
        assert seen[signal.SIGINT] is seen[signal.SIGTERM] is replicas._interrupt
        assert seen[signal.SIGHUP] is signal.SIG_IGN and stopped == [True, True]
        assert signal.getsignal(signal.SIGTERM) is before[signal.SIGTERM]
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


# --- two replicas behind HAProxy -----------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(haproxy, tmp_path_factory):
    """`cnnviz app --replicas 2` on a free port: (url, {cookie value: replica port}, launcher,
    the launcher's log)."""
    port = free_port()
    env = {**os.environ, paths.RUNS_ENV: str(tmp_path_factory.mktemp("runs")),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = tmp_path_factory.mktemp("launcher") / "out.txt"
    with log.open("w") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "cnnviz", "app", "--replicas", "2", "--port", str(port),
             "--address", "127.0.0.1", "--server.fileWatcherType", "none"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 120
        while not (banner := re.search(r"ports ([\d, ]+) behind", log.read_text())):
            assert time.monotonic() < deadline and launcher.poll() is None, log.read_text()
            time.sleep(0.2)
        while not healthy(url):
            assert time.monotonic() < deadline and launcher.poll() is None, log.read_text()
            time.sleep(0.2)
        ports = [int(p) for p in banner.group(1).split(", ")]
        yield url, {f"r{k}": p for k, p in enumerate(ports, start=1)}, launcher, log
    finally:
        if launcher.poll() is None:  # else the Ctrl-C test below has stopped it, and checked
            tree = psutil.Process(launcher.pid).children(recursive=True)
            launcher.send_signal(signal.SIGTERM)
            launcher.wait(timeout=60)
            _, alive = psutil.wait_procs(tree, timeout=30)
            assert not alive, f"left running after the launcher stopped: {alive}"


def png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (20, 20), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def part(launcher: subprocess.Popen, *words: str) -> psutil.Process:
    """The launcher's descendant whose command line holds all `words`."""
    for process in psutil.Process(launcher.pid).children(recursive=True):
        try:
            line = " ".join(process.cmdline())
        except psutil.Error:  # ended meanwhile
            continue
        if all(word in line for word in words):
            return process
    raise LookupError(f"no part {words} under the launcher")


def replica_process(launcher: subprocess.Popen, port: int) -> psutil.Process:
    return part(launcher, launch.SERVER_MODULE, str(port))


async def served_by(url: str, cookie: str, deadline: float) -> StreamlitSession:
    """A session opened through the proxy with the cookie of replica `cookie`, once that replica
    serves it (before, HAProxy sends it elsewhere and sets another cookie)."""
    while True:
        session = StreamlitSession(url, timeout=30)
        session.cookies = {"CNNVIZ_REPLICA": cookie}
        try:
            run = await session.open("convolution")
            if session.cookies["CNNVIZ_REPLICA"] == cookie:
                assert run.status == "finished" and not run.exceptions
                return session
        except (SessionLost, OSError):
            pass
        await session.close()
        assert time.monotonic() < deadline, f"replica {cookie} not back in time"
        await asyncio.sleep(1)


def settle_stride(session: StreamlitSession, stride: int):
    """The Convolution page's scrub component settled with stride (stride, 1), as a browser's."""
    scrub = session.widget("scrub conv", "component")
    return session.change(scrub, {**json.loads(scrub.data)["settings"], "stride": [stride, 1]})


@pytest.mark.server
def test_sessions_stay_on_their_replica_and_survive_the_other_ones_death(cluster):
    """A replica killed: its students reload onto the other, whose students never notice; the
    launcher says so in one line and restarts it (time to recover printed with -s)."""
    url, ports, launcher, log = cluster

    async def lesson():
        sessions = [StreamlitSession(url, timeout=60) for _ in range(4)]
        for session in sessions:
            await session.open("convolution")
        homes = [session.cookies["CNNVIZ_REPLICA"] for session in sessions]
        assert set(homes) == {"r1", "r2"}  # new browsers spread over both replicas
        for session in sessions:  # reruns and an upload: all reach the session's own replica
            ids = session.session_id
            for stride in (2, 3):
                run = await settle_stride(session, stride)
                assert run.status == "finished" and not run.exceptions
            await session.change(session.widget("Source"), "upload")
            run = await session.upload(session.widget("Image", "file_uploader"), "digit.png",
                                       png(len(ids)), "image/png")
            assert run.status == "finished" and not run.error_boxes and not run.exceptions
            assert "step" in session.chart_keys  # the uploaded image was convolved
            await session.reconnect()  # the same session comes back: same replica
            assert session.session_id == ids
        assert [session.cookies["CNNVIZ_REPLICA"] for session in sessions] == homes

        killed = replica_process(launcher, ports["r1"])
        killed.kill()
        began = time.monotonic()
        for session, home in zip(sessions, homes):
            if home == "r2":  # the other replica's students carry on
                run = await settle_stride(session, 1)
                assert run.status == "finished" and not run.exceptions
            else:  # r1's students lost their session; reloading gives them a new one
                with pytest.raises((SessionLost, OSError, urllib.error.URLError)):
                    await settle_stride(session, 1)
        lost = sessions[homes.index("r1")]
        deadline = time.monotonic() + 20
        while True:  # on r2 while r1 is down (or on r1 if it is back already)
            reload = StreamlitSession(url, timeout=60)
            reload.cookies = dict(lost.cookies)
            try:
                run = await reload.open("convolution")
                break
            except (SessionLost, OSError):
                assert time.monotonic() < deadline
                await asyncio.sleep(1)
        assert run.status == "finished" and reload.session_id != lost.session_id
        reloaded = time.monotonic() - began
        back = await served_by(url, "r1", began + 40)  # restarted, and HAProxy sends it r1 again
        recovered = time.monotonic() - began
        died = re.findall(rf"^cnnviz: replica 1 \(pid {killed.pid}\) (.*)$", log.read_text(),
                          re.MULTILINE)
        assert died == ["killed by SIGKILL; restarting it in 1 s (death 1 within 60 s; "
                        "given up at 5)"]
        for session, home in zip(sessions, homes):
            if home == "r2":  # still the same sessions, untouched by r1's return
                run = await settle_stride(session, 2)
                assert run.status == "finished" and not run.exceptions
        print(f"\nreplica killed: a reload served after {reloaded:.1f} s; the replica back "
              f"behind HAProxy after {recovered:.1f} s")
        for session in [*sessions, reload, back]:
            await session.close()

    asyncio.run(lesson())


@pytest.mark.server
def test_haproxy_killed_is_restarted_and_the_sessions_resume(cluster):
    """HAProxy killed: every websocket drops; the launcher restarts it, and each browser's
    reconnection finds its own session on its replica (nothing lost)."""
    url, _, launcher, log = cluster

    async def lesson():
        sessions = [StreamlitSession(url, timeout=60) for _ in range(2)]
        for session in sessions:
            await session.open("convolution")
            await settle_stride(session, 3)
        killed = part(launcher, "haproxy", "-db")
        killed.kill()
        began = time.monotonic()
        while not healthy(url):
            assert time.monotonic() - began < 20, log.read_text()[-2000:]
            await asyncio.sleep(0.1)
        recovered = time.monotonic() - began
        for session in sessions:
            ids = session.session_id
            run = await session.reconnect()
            assert run.status == "finished" and not run.exceptions
            assert session.session_id == ids  # the same session, on the same replica
            await session.close()
        died = re.findall(rf"^cnnviz: haproxy \(pid {killed.pid}\) (.*)$", log.read_text(),
                          re.MULTILINE)
        assert died == ["killed by SIGKILL; restarting it in 1 s (death 1 within 60 s; "
                        "given up at 5)"]
        print(f"\nHAProxy killed: serving again after {recovered:.1f} s")

    asyncio.run(lesson())


def ray_head_up(launcher: subprocess.Popen) -> psutil.Process | None:
    """The launcher's `ray start --head --block` once it has started its node and watches it
    (it opens its session's ray_process_exit.log only then); None before."""
    with contextlib.suppress(LookupError, psutil.Error):
        head = part(launcher, "ray.scripts", "--head")
        scratch = next(arg for arg in head.cmdline() if arg.startswith("--temp-dir="))
        watched = Path(scratch.split("=", 1)[1]) / "session_latest/logs/ray_process_exit.log"
        if watched.is_file() and watched.stat().st_mtime >= head.create_time():
            return head
    return None


@pytest.mark.server
def test_ray_head_killed_is_restarted_at_the_same_address(cluster):
    """The head's GCS server killed: `ray start --block` ends, and the launcher starts the head
    again on the same port, where every replica's next run finds it (docs/scaling.md)."""
    _, _, launcher, log = cluster
    address = re.search(r"Ray at 127\.0\.0\.1:(\d+)", log.read_text())
    deadline = time.monotonic() + 60
    while not (head := ray_head_up(launcher)):  # on a loaded machine a head may time out while
        assert time.monotonic() < deadline, log.read_text()[-2000:]  # starting, and restart
        time.sleep(0.5)
    part(launcher, "gcs_server").kill()
    began = time.monotonic()
    pattern = rf"^cnnviz: ray head \(pid {head.pid}\) (.*)$"
    while not (died := re.findall(pattern, log.read_text(), re.MULTILINE)):
        assert time.monotonic() - began < 10, log.read_text()[-2000:]
        time.sleep(0.1)
    noticed = time.monotonic() - began
    assert len(died) == 1 and "restarting it in 1 s (death 1 within 60 s" in died[0]
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", int(address.group(1)))) == 0:
                break
        assert time.monotonic() - began < 40, log.read_text()[-2000:]
        time.sleep(0.2)
    assert part(launcher, "ray.scripts", "--head").pid != head.pid
    print(f"\nRay head killed: told after {noticed:.1f} s, listening again after "
          f"{time.monotonic() - began:.1f} s")


@pytest.mark.server
def test_ctrl_c_stops_every_part_within_10_s_even_hung_ones(cluster):
    """Ctrl-C (SIGINT to the launcher's process group, as a terminal sends it) with the Ray
    head's GCS server and one replica frozen (SIGSTOP: SIGTERM cannot reach them)."""
    url, ports, launcher, _ = cluster
    tree = psutil.Process(launcher.pid).children(recursive=True)
    try:
        part(launcher, "gcs_server").suspend()
        replica_process(launcher, ports["r2"]).suspend()
        began = time.monotonic()
        os.killpg(launcher.pid, signal.SIGINT)
        launcher.wait(timeout=30)
        _, alive = psutil.wait_procs(tree, timeout=max(0.1, 10 - (time.monotonic() - began)))
        took = time.monotonic() - began
        assert not alive and took < 10
        assert launcher.returncode == 0 and not healthy(url)
        print(f"\nCtrl-C with a frozen Ray head and replica: all stopped after {took:.1f} s")
    finally:
        for process in tree:  # whatever a failure left behind, by its own id
            with contextlib.suppress(psutil.Error):
                process.kill()
