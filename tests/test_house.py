"""House rules that code can check, over every module of cnnviz/ (subpackages included):
TensorFlow stays out of module level, only cnnviz/ui/ imports Streamlit, nothing imports the
benchmarks, the tests or Playwright, and imports run one way (app_pages -> ui -> figures,
training, explain -> ops, lenet, data) without cycles; the student's process of `cnnviz check`
imports nothing from cnnviz."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = {  # dotted name -> path, for every module of the library
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
    for path in sorted((ROOT / "cnnviz").rglob("*.py"))
}
# the library's foundations: they import none of the rooms built on them
FOUNDATIONS = {"cnnviz.nn.ops", "cnnviz.nn.loops", "cnnviz.data.datasets", "cnnviz.paths", "cnnviz.nn.blas",
               "cnnviz.nn.lenet", "cnnviz.nn.kernels", "cnnviz.data.preprocess", "cnnviz.data.upload"}
UPPER_ROOMS = ("cnnviz.ui", "cnnviz.figures", "cnnviz.training", "cnnviz.nn.explain", "cnnviz.serving.launch")


def imports(path: Path, *, module_level: bool = True) -> set[str]:
    """Dotted names `path` imports (`from a import b` gives a.b when that is a module, else a)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level else ast.walk(tree)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES
                      else node.module for a in node.names}
    return names


def top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_cnnviz_ops_data_and_training_import_without_tensorflow():
    code = "import sys, cnnviz.ops, cnnviz.data, cnnviz.training; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_walk_sees_the_subpackages():
    assert {"cnnviz.nn.ops", "cnnviz.figures.explorer", "cnnviz.figures.draw", "cnnviz.training.loop"} <= set(MODULES)


def test_only_the_ui_module_imports_streamlit():
    importers = {name for name, path in MODULES.items()
                 if "streamlit" in top_level(imports(path, module_level=False))}
    assert importers and all(name.split(".")[:2] == ["cnnviz", "ui"] for name in importers)


def test_no_cnnviz_module_imports_tensorflow_at_module_level():
    importers = {name for name, path in MODULES.items()
                 if {"tensorflow", "keras"} & top_level(imports(path))}
    assert importers == set()


def test_nothing_in_cnnviz_imports_benchmarks_tests_or_playwright():
    importers = {name for name, path in MODULES.items()
                 if {"benchmarks", "tests", "playwright"} & top_level(imports(path, module_level=False))}
    assert importers == set()


def test_foundations_import_none_of_the_rooms_built_on_them():
    upward = {(name, target) for name in FOUNDATIONS for target in imports(MODULES[name])
              if target.startswith(UPPER_ROOMS)}
    assert upward == set()


def test_module_level_imports_have_no_cycles():
    graph = {name: {t for t in imports(path) if t in MODULES and t != name}
             for name, path in MODULES.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        state[name] = "open"
        for target in graph[name]:
            assert state.get(target) != "open", " -> ".join((*trail, name, target))
            if target not in state:
                visit(target, (*trail, name))
        state[name] = "done"

    for name in graph:
        if name not in state:
            visit(name, ())


def test_the_check_child_runs_on_numpy_alone():
    """cnnviz/check/child.py runs as a bare script in the student's process (python -I)."""
    assert top_level(imports(MODULES["cnnviz.check.child"], module_level=False)) <= {
        "importlib", "json", "resource", "sys", "traceback", "pathlib", "numpy"}
