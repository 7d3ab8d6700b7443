"""README matches the code: every module, function, class, constant and keyword its library
section promises can be imported, and its command lines answer `--help`. The promises are read
from README.md itself, so the test follows README as it changes."""

import builtins
import importlib
import inspect
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SPAN = re.compile(r"(?<!`)(→\s*)?`([^`]+)`")  # a code span, and whether a `→` (a result) leads it
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def library_bullets() -> list[str]:
    """The bullets of README's library section (from "The library, `cnnviz`" to the next title),
    each with its continuation lines."""
    start = README.index("The library, `cnnviz`")
    section = README[start:README.index("\n#", start)]
    return [bullet.strip() for bullet in re.split(r"\n- ", section)[1:]]


def promises(bullet: str) -> tuple[list[str], list[str]]:
    """(modules, names) a bullet promises. Modules: `cnnviz.x.y` spans, and `x.y` spans under a
    promised `cnnviz.x`. Names: spans that are an identifier, a call `f(...)` or a keyword `k=...`;
    results (after →) and Python's builtins (`ValueError`) are not promises of cnnviz."""
    modules, names = [], []
    spans = [(bool(arrow), text) for arrow, text in SPAN.findall(bullet)]
    for _, text in spans:
        if re.fullmatch(r"cnnviz(\.\w+)+", text):
            modules.append(text)
    for _, text in spans:
        head = text.split(".")[0]
        if re.fullmatch(r"\w+(\.\w+)+", text) and f"cnnviz.{head}" in modules:
            modules.append(f"cnnviz.{text}")
    for result, text in spans:
        name = re.match(r"([A-Za-z_]\w*)(\(|=|$)", text)
        if not result and name and not hasattr(builtins, name[1]) and "." not in text[:name.end()]:
            names.append(name[1])
    return modules, names


def namespace(modules: list[str]) -> set[str]:
    """Every name reachable from `modules`: their attributes, those of the cnnviz modules and
    classes they hold, and the parameters of the functions and classes among them."""
    names: set[str] = set()
    seen: set[int] = set()

    def add(obj, depth: int) -> None:
        if id(obj) in seen or depth > 2:
            return
        seen.add(id(obj))
        if isinstance(obj, type | types.ModuleType):
            names.update(dir(obj))
            names.update(getattr(obj, "__annotations__", {}))  # a Protocol's declared attributes
            for value in vars(obj).values():
                home = getattr(value, "__module__", getattr(value, "__name__", ""))
                if isinstance(home, str) and home.startswith("cnnviz"):
                    add(value, depth + 1)
        if callable(obj):
            try:
                names.update(inspect.signature(obj).parameters)
            except (TypeError, ValueError):  # a builtin without a signature
                pass

    for module in modules:
        try:
            add(importlib.import_module(module), 0)
        except ImportError:
            pass  # test_readme_modules_import names it
    return names


BULLETS = library_bullets()


def test_readme_library_section_is_read():
    modules = [module for bullet in BULLETS for module in promises(bullet)[0]]
    assert {"cnnviz.ops", "cnnviz.data", "cnnviz.training"} <= set(modules)
    assert "conv_forward" in promises(BULLETS[0])[1] and "dA_prev" not in promises(BULLETS[0])[1]


@pytest.mark.parametrize("bullet", BULLETS, ids=lambda bullet: SPAN.search(bullet)[2])
def test_readme_modules_import(bullet):
    missing = []
    for module in promises(bullet)[0]:
        try:
            importlib.import_module(module)
        except ImportError as error:  # `cnnviz.x.NAME`: a name the module holds is kept too
            parent, _, name = module.rpartition(".")
            try:
                if hasattr(importlib.import_module(parent), name):
                    continue
            except ImportError:
                pass
            missing.append(f"{module}: {error}")
    assert missing == []


@pytest.mark.parametrize("bullet", BULLETS, ids=lambda bullet: SPAN.search(bullet)[2])
def test_readme_names_exist(bullet):
    modules, names = promises(bullet)
    known = namespace(modules)
    assert [name for name in names if name not in known] == []


def commands() -> list[list[str]]:
    """README's command lines, as `python -m` argument lists: each `cnnviz COMMAND` and each
    benchmark named in the comment after `python -m benchmarks NAME`."""
    blocks = "\n".join(re.findall(r"```bash\n(.*?)```", README, re.S))
    found = {("cnnviz", name) for name in re.findall(r"^(?:python -m )?cnnviz (\w+)", blocks, re.M)}
    listing = re.search(r"^python -m benchmarks NAME.*?#(.*?):", blocks, re.M | re.S)[1]
    found |= {("benchmarks", name.strip(" #\n")) for name in listing.split(",")}
    return sorted([package, name] for package, name in found)


def test_readme_lists_the_commands():
    lines = commands()
    assert {("cnnviz", "app"), ("cnnviz", "train"), ("cnnviz", "check"),
            ("benchmarks", "ops")} <= {tuple(line) for line in lines}


@pytest.mark.parametrize("command", commands(), ids=" ".join)
def test_readme_command_answers_help(command):
    run = subprocess.run([sys.executable, "-m", *command, "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("usage:") and command[1] in run.stdout.splitlines()[0]
