"""`cnnviz app`: the Streamlit command it runs, and a clear error when the app is missing."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.server import started_server
from cnnviz import paths
from cnnviz.serving import launch


def test_app_command_runs_the_shipped_frame_with_our_and_streamlits_options():
    args = launch.parse_args(["--port", "9000", "--address", "127.0.0.1",
                              "--server.fileWatcherType", "none"])
    command = launch.streamlit_command(args)
    assert command[:5] == [sys.executable, "-m", launch.SERVER_MODULE, "run", str(paths.APP)]
    assert command[command.index("--server.port") + 1] == "9000"
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[-2:] == ["--server.fileWatcherType", "none"]
    assert command.count("--server.fileWatcherType") == 1  # the given one, not our default too


def test_app_does_not_watch_its_source_unless_asked():
    command = launch.streamlit_command(launch.parse_args([]))
    assert command[command.index("--server.fileWatcherType") + 1] == "none"
    assert command[command.index("--server.runOnSave") + 1] == "false"
    developer = launch.streamlit_command(launch.parse_args(["--server.fileWatcherType=auto"]))
    assert "--server.fileWatcherType" not in developer
    assert "--server.fileWatcherType=auto" in developer
    assert developer[developer.index("--server.runOnSave") + 1] == "false"


def test_app_command_without_the_app_says_to_reinstall(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(paths, "APP", tmp_path / "app.py")
    assert launch.main([]) == 2
    assert "reinstall cnnviz" in capsys.readouterr().err


def test_runs_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.RUNS_ENV, str(tmp_path))
    assert paths.runs_dir() == tmp_path
    monkeypatch.delenv(paths.RUNS_ENV)
    assert paths.runs_dir() == paths.CHECKOUT / "runs"


def test_app_command_sends_the_training_runs_to_a_ray_cluster(monkeypatch):
    monkeypatch.delenv("CNNVIZ_RAY_ADDRESS", raising=False)
    assert "CNNVIZ_RAY_ADDRESS" not in launch.server_env(launch.parse_args([]))  # Ray in the server
    env = launch.server_env(launch.parse_args(["--ray-address", "10.0.0.5:6379"]))
    assert env["CNNVIZ_RAY_ADDRESS"] == "10.0.0.5:6379"
    assert env[paths.RUNS_ENV] == str(paths.runs_dir().resolve())


def test_the_launcher_starts_streamlit_without_loading_numpy_first():
    """Every cold start waits for what `cnnviz app` imports before it execs Streamlit."""
    def printed(code: str) -> list[str]:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.split()

    assert printed("import sys, cnnviz.serving.launch; print('numpy' in sys.modules)") == ["False"]
    assert printed("from cnnviz import conv_forward; print(conv_forward.__module__)") == [
        "cnnviz.nn.ops"]


def test_server_skips_the_full_garbage_collection_after_every_run():
    """gc.collect(2) per rerun held the GIL for most of a loaded server's time (BENCHMARKS.md)."""
    import tomllib

    config = tomllib.loads((paths.HOME / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def loaded_libraries(pid: int) -> str:
    """The shared libraries mapped into process pid (a C extension appears once imported)."""
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.server
def test_the_served_process_preloads_the_home_page_before_any_browser_connects(tmp_path,
                                                                                 monkeypatch):
    """cnnviz.serving.boot: NumPy and PIL (cnnviz.ui), SQLAlchemy (the class frame) imported and
    the SQLite class store opened by the server itself, with no browser ever connected (a plain
    `streamlit run` imports none of them until a page runs)."""
    monkeypatch.delenv("CNNVIZ_DATABASE_URL", raising=False)
    with started_server({paths.RUNS_ENV: str(tmp_path)}) as server:
        wanted = ("PIL/_imaging", "numpy/_core/_multiarray_umath")  # class.db: SQLAlchemy
        deadline = time.monotonic() + 8
        while not ((tmp_path / "class.db").is_file()
                   and all(name in loaded_libraries(server.pid) for name in wanted)):
            assert time.monotonic() < deadline, (
                f"not preloaded: {[n for n in wanted if n not in loaded_libraries(server.pid)]}, "
                f"runs folder {sorted(p.name for p in tmp_path.iterdir())}")
            time.sleep(0.1)


def test_the_boot_finds_the_health_check_of_the_server_it_starts():
    from cnnviz.serving import boot

    assert boot.health_address(["run", "app.py", "--server.port", "9000"]) == (
        "127.0.0.1", 9000, "/_stcore/health")
    assert boot.health_address(["run", "app.py", "--server.port", "9000", "--server.address",
                                "10.0.0.5", "--server.port=9001", "--server.baseUrlPath",
                                "/cnn/"]) == ("10.0.0.5", 9001, "/cnn/_stcore/health")
    assert boot.health_address(["run", "app.py", "--server.address", "0.0.0.0"])[:2] == (
        "127.0.0.1", 8501)
