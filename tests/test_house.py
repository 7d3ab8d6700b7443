"""House rules that code can check: TensorFlow stays out of the ops and explorer imports, and
only cnnviz/ui.py imports Streamlit."""

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


def test_cnnviz_ops_data_and_training_import_without_tensorflow():
    code = "import sys, cnnviz.ops, cnnviz.data, cnnviz.training; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def cnnviz_modules() -> list[Path]:
    """Every module of the library, subpackages included."""
    return sorted((ROOT / "cnnviz").rglob("*.py"))


def test_only_the_ui_module_imports_streamlit():
    importers = {p.relative_to(ROOT).as_posix() for p in cnnviz_modules()
                 if "streamlit" in imported_modules(p)}
    assert importers <= {"cnnviz/ui.py"}


def test_no_cnnviz_module_imports_tensorflow_at_module_level():
    importers = {p.relative_to(ROOT).as_posix() for p in cnnviz_modules()
                 if {"tensorflow", "keras"} & imported_modules(p)}
    assert importers == set()
