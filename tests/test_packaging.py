"""`pip install .`: the wheel holds the whole library, the app with every page, its config and
data, the `cnnviz` command, and requirements.txt as its dependencies."""

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


SOURCES = ("pyproject.toml", "requirements.txt", "app.py", "app_pages", "cnnviz", "data",
           ".streamlit", "deploy")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel, built from a copy of the sources (a build writes build/ beside them)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(out), str(source)],
                   check=True, capture_output=True)
    (built,) = out.glob("cnnviz-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def test_wheel_holds_every_library_module(wheel):
    names = set(wheel.namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "cnnviz").rglob("*.py")}
    assert modules and modules <= names


def test_wheel_holds_the_scrub_components_manifest_and_assets(wheel):
    names = set(wheel.namelist())
    assets = {p.relative_to(ROOT).as_posix() for p in (ROOT / "cnnviz/ui/scrub/assets").glob("*.*")}
    bundle = {"cnnviz/ui/scrub/assets/vendor/plotly-cartesian.min.js",
              "cnnviz/ui/scrub/assets/vendor/LICENSE-plotly.js"}  # its own Plotly.js, licence
    assert {"cnnviz/pyproject.toml", "cnnviz/ui/scrub/assets/conv.js"} | bundle | assets <= names
    assert not any("plotly.min.js" in name for name in names)  # an old checkout's full copy


def test_wheel_holds_the_app_its_pages_config_and_data(wheel):
    shared = {name.split(".data/data/", 1)[1] for name in wheel.namelist() if ".data/data/" in name}
    frame = ast.parse((ROOT / "app.py").read_text())
    pages = next(ast.literal_eval(node.value) for node in frame.body
                 if isinstance(node, ast.Assign) and node.targets[0].id == "PAGES")
    expected = {"app.py", ".streamlit/config.toml", "data/mnist_10k.npz", "data/lenet5_mnist.npz",
                "data/lenet5_mnist.keras", "deploy/haproxy.cfg",
                *(path for path, _, _ in pages)}
    assert {f"share/cnnviz/{path}" for path in expected} <= shared


def test_wheel_declares_the_command_and_the_runtime_requirements(wheel):
    info = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    metadata = wheel.read(info).decode()
    entry_points = wheel.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "cnnviz = cnnviz.__main__:main" in entry_points
    declared = {str(Requirement(line.removeprefix("Requires-Dist: ")))
                for line in metadata.splitlines() if line.startswith("Requires-Dist: ")}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if requirement:  # compared once normalised: the metadata sorts a range's bounds
            assert str(Requirement(requirement)) in declared
