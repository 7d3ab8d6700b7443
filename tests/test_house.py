"""House rules that code can check, over every module of cnnviz/ (subpackages included):
TensorFlow stays out of module level, only cnnviz/ui/ imports Streamlit, nothing imports the
benchmarks, the tests or Playwright, imports run down the floors (FLOORS) without cycles, functions
and modules stay short; the student's process of `cnnviz check` imports nothing from cnnviz."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = {  # dotted name -> path, for every module of the library
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
    for path in sorted((ROOT / "cnnviz").rglob("*.py"))
}
# The library's floors, lowest first: a module imports from its own floor or the ones below it,
# never from one above. A room is a package or a module; cnnviz.ops, .lenet, .dense and
# .preprocess are the documented addresses of nn's and data's modules; `cnnviz` itself (lazy
# re-exports) and `cnnviz.__main__` (the command, importing its commands when run) are the door.
FLOORS = [
    ["cnnviz.paths"],
    ["cnnviz.nn", "cnnviz.data", "cnnviz.ops", "cnnviz.lenet", "cnnviz.dense", "cnnviz.preprocess"],
    ["cnnviz.networks", "cnnviz.readers", "cnnviz.classroom"],
    ["cnnviz.training", "cnnviz.check", "cnnviz.figures"],
    ["cnnviz.ui"],
    ["cnnviz.serving"],
    ["cnnviz", "cnnviz.__main__"],
]
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


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
    code = ("import sys, cnnviz.ops, cnnviz.data, cnnviz.training;"
            " print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_the_walk_sees_the_subpackages():
    assert {"cnnviz.nn.ops", "cnnviz.figures.explorer", "cnnviz.figures.draw",
            "cnnviz.training.loop"} <= set(MODULES)


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
                 if {"benchmarks", "tests", "playwright"}
                 & top_level(imports(path, module_level=False))}
    assert importers == set()


def room(name: str) -> str:
    """The FLOORS entry `name` belongs to: the longest one that is `name` or a package above it."""
    rooms = [r for floor in FLOORS for r in floor if name == r or name.startswith(r + ".")]
    return max(rooms, key=len)


def floor(name: str) -> int:
    return next(level for level, rooms in enumerate(FLOORS) if room(name) in rooms)


def test_every_module_has_a_room_below_the_door():
    assert {name for name in MODULES if room(name) == "cnnviz"} == {"cnnviz"}
    assert [r for rooms in FLOORS for r in rooms if r not in MODULES] == []


def test_no_module_level_import_runs_up_a_floor():
    upward = sorted(f"{name} (floor {floor(name)}) imports {target} (floor {floor(target)})"
                    for name, path in MODULES.items() for target in imports(path)
                    if target in MODULES and floor(target) > floor(name))
    assert upward == []


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


def source_files() -> dict[str, Path]:
    """Every module of cnnviz/ and every page of app_pages/, by its path from the root."""
    paths = [*MODULES.values(), *sorted((ROOT / "app_pages").glob("*.py"))]
    return {str(path.relative_to(ROOT)): path for path in paths}


def test_no_function_is_over_60_lines():
    long = sorted(f"{name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
                  for name, path in source_files().items()
                  for node in ast.walk(ast.parse(path.read_text()))
                  if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES)
    assert long == []


def test_no_module_is_over_400_lines():
    # the benchmarks too: their protocol client grew to 441 lines with no test to say so
    benchmarks = {str(path.relative_to(ROOT)): path
                  for path in sorted((ROOT / "benchmarks").glob("*.py"))}
    long = sorted(f"{name} ({lines} lines)"
                  for name, path in {**source_files(), **benchmarks}.items()
                  if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES)
    assert long == []
