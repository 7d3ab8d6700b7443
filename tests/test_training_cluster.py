"""The address path: runs sent to a Ray cluster started apart with `ray start --head` (as a class's
cluster would be; here on 127.0.0.1, with its own ports, token and temp folder, stopped after).
Two drivers stand for two server replicas: they share the cluster's one slot and its queue."""

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from benchmarks.common import descendants
from cnnviz import training
from cnnviz.serving.replicas import free_port

ROOT = Path(__file__).resolve().parents[1]
RAY = Path(sys.executable).with_name("ray")
TIMEOUT = 180
PORT_OPTIONS = ("port", "ray-client-server-port", "dashboard-port", "dashboard-agent-listen-port",
                "dashboard-agent-grpc-port", "runtime-env-agent-port", "metrics-export-port",
                "node-manager-port", "object-manager-port")
# a driver that prints whether it ever imported TensorFlow, after `cnnviz train`
TRAIN = ("import sys; from cnnviz.training import cli; code = cli.main(sys.argv[1:]); "
         "print(json.dumps({'tensorflow': 'tensorflow' in sys.modules})); sys.exit(code)")


@pytest.fixture(scope="module")
def cluster():
    """(address, environment for its drivers, session folder) of a one-CPU `ray start --head`."""
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("CNNVIZ_RAY_ADDRESS", None)
    ports = {option: free_port() for option in PORT_OPTIONS}
    command = [str(RAY), "start", "--head", "--block", "--num-cpus=1", "--disable-usage-stats",
               "--node-ip-address=127.0.0.1", "--include-dashboard=false", f"--temp-dir={temp}",
               *(f"--{option}={port}" for option, port in ports.items())]
    log = temp / "head.log"
    with log.open("w") as out:
        head = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    started = []
    try:
        deadline = time.monotonic() + TIMEOUT
        while "Ray runtime started" not in log.read_text():
            assert head.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        started = descendants(head.pid)
        yield f"127.0.0.1:{ports['port']}", env, temp
    finally:
        head.terminate()  # `ray start --block` stops the processes it started
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            head.kill()
        for pid in started:  # exactly those, should any remain
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def train(address, env, runs_dir, *options, stderr=subprocess.PIPE) -> subprocess.Popen:
    command = [sys.executable, "-c", f"import json; {TRAIN}", "--ray-address", address,
               "--runs-dir", str(runs_dir), "--limit", "300", "--json", *options]
    return subprocess.Popen(command, cwd=tempfile.gettempdir(), env=env, stdout=subprocess.PIPE,
                            stderr=stderr, text=True)


def test_cnnviz_train_runs_on_the_cluster_and_records_here(cluster, tmp_path):
    address, env, temp = cluster
    driver = train(address, env, tmp_path, "--backend", "keras", "--epochs", "1",
                   "--out", str(tmp_path / "model.keras"))
    out, err = driver.communicate(timeout=TIMEOUT)
    assert driver.returncode == 0, err[-3000:]
    summary, imports = (json.loads(line) for line in out.strip().splitlines()[-2:])
    assert imports == {"tensorflow": False}  # the driver (a server) never imported TensorFlow
    assert len(summary["epochs"]) == 1 and summary["model_path"] == str(tmp_path / "model.keras")
    (saved,) = training.list_runs(tmp_path)
    assert saved.status == "finished" and saved.model_path.is_file()
    worker = training.runs.read_record(saved.run_dir)["worker"]
    assert list(temp.glob(f"session_*/logs/*worker*{worker['pid']}*"))  # the cluster's worker
    assert "joining the Ray cluster" in err and "ETA" in err


def test_two_drivers_share_the_cluster_queue(cluster, tmp_path):
    address, env, _ = cluster
    first = train(address, env, tmp_path, "--backend", "numpy", "--epochs", "500")
    deadline = time.monotonic() + TIMEOUT
    while not any(run.status == "running" and run.history.epochs for run in
                  training.list_runs(tmp_path)):
        assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
        time.sleep(0.2)
    with (tmp_path / "second.err").open("w+") as second_err:
        second = train(address, env, tmp_path, "--backend", "numpy", "--epochs", "1",
                       stderr=second_err)
        waiting = "waiting for a free training slot: place 1"
        while waiting not in (tmp_path / "second.err").read_text():
            assert second.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        first.send_signal(signal.SIGINT)  # Ctrl-C: stop after the current batch
        first_out, first_err = first.communicate(timeout=TIMEOUT)
        second_out, _ = second.communicate(timeout=TIMEOUT)
    assert first.returncode == 0, first_err[-3000:]
    assert json.loads(first_out.splitlines()[-2])["stopped"]
    assert second.returncode == 0 and not json.loads(second_out.splitlines()[-2])["stopped"]
    statuses = sorted(run.status for run in training.list_runs(tmp_path))
    assert statuses == ["finished", "stopped"]
