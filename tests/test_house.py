"""House rules that code can check: TensorFlow stays out of the ops and explorer imports, only
cnnviz/ui.py imports Streamlit (every module of cnnviz/, subpackages included), and the student's
process of `cnnviz check` imports nothing from cnnviz."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module `path` imports at module level (not inside functions)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_cnnviz_ops_and_data_import_without_tensorflow():
    code = "import sys, cnnviz.ops, cnnviz.data; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_only_the_ui_module_imports_streamlit():
    importers = {p.name for p in (ROOT / "cnnviz").rglob("*.py") if "streamlit" in imported_modules(p)}
    assert importers <= {"ui.py"}


def test_no_cnnviz_module_imports_tensorflow_at_module_level():
    importers = {p.name for p in (ROOT / "cnnviz").rglob("*.py")
                 if {"tensorflow", "keras"} & imported_modules(p)}
    assert importers == set()


def test_the_check_child_runs_on_numpy_alone():
    """cnnviz/check/child.py runs as a bare script in the student's process (python -I)."""
    assert imported_modules(ROOT / "cnnviz" / "check" / "child.py") <= {
        "importlib", "json", "resource", "sys", "traceback", "pathlib", "numpy"}
