"""`cnnviz app --replicas K`: the HAProxy config, then two real replicas behind a real HAProxy.

The tests marked `server` start the launcher (2 Streamlit processes, HAProxy, a Ray head) on free
local ports and hold sessions through the proxy with the protocol client of the classroom
benchmark (about a minute on two busy cores).
"""

import asyncio
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error

import numpy as np
import psutil
import pytest
from PIL import Image

from benchmarks.server import free_port, healthy
from benchmarks.streamlit_protocol import SessionLost, StreamlitSession
from cnnviz import paths
from cnnviz.serving import replicas
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


# --- two replicas behind HAProxy -----------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(haproxy, tmp_path_factory):
    """`cnnviz app --replicas 2` on a free port: (url, {cookie value: replica port}, launcher)."""
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
        yield url, {f"r{k}": p for k, p in enumerate(ports, start=1)}, launcher
    finally:
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


def replica_process(launcher: subprocess.Popen, port: int) -> psutil.Process:
    return next(p for p in psutil.Process(launcher.pid).children(recursive=True)
                if str(port) in p.cmdline() and "streamlit" in " ".join(p.cmdline()))


def settle_stride(session: StreamlitSession, stride: int):
    """The Convolution page's scrub component settled with stride (stride, 1), as a browser's."""
    scrub = session.widget("scrub conv", "component")
    return session.change(scrub, {**json.loads(scrub.data)["settings"], "stride": [stride, 1]})


@pytest.mark.server
def test_sessions_stay_on_their_replica_and_survive_the_other_ones_death(cluster):
    url, ports, launcher = cluster

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

        replica_process(launcher, ports["r1"]).kill()
        for session, home in zip(sessions, homes):
            if home == "r2":  # the other replica's students carry on
                run = await settle_stride(session, 1)
                assert run.status == "finished" and not run.exceptions
            else:  # r1's students lost their session; reloading lands them on r2
                with pytest.raises((SessionLost, OSError, urllib.error.URLError)):
                    await settle_stride(session, 1)
        lost = sessions[homes.index("r1")]
        deadline = time.monotonic() + 20
        while True:  # until HAProxy's health check has marked r1 down
            reload = StreamlitSession(url, timeout=60)
            reload.cookies = dict(lost.cookies)
            try:
                run = await reload.open("convolution")
                break
            except (SessionLost, OSError):
                assert time.monotonic() < deadline
                await asyncio.sleep(1)
        assert run.status == "finished" and reload.cookies["CNNVIZ_REPLICA"] == "r2"
        for session in [*sessions, reload]:
            await session.close()

    asyncio.run(lesson())
