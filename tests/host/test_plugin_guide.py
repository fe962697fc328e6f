"""The code in docs/plugins.md runs.

The guide's Python blocks before "## Testing a plugin" are one plugin module,
``my_setup.py``; the blocks in that section are its pytest tests. Here the
module is written to a temporary folder and every test the guide defines is
called, each as its own test, with the fixtures it names. Blocks after that
section are executed on their own. Each block keeps its line numbers in the
Markdown file, so a traceback points at the guide.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import textwrap
from pathlib import Path

import pytest

from rsengine.host.plugins import collect_registries, make_plugin_manager

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
TESTING = "## Testing a plugin"
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w*)\s*$")


def python_blocks() -> list[tuple[int, str, str]]:
    """``(first line number, code, section)`` of every ```python block."""
    blocks, section, open_at, lines, indent = [], "", None, [], ""
    for number, line in enumerate(GUIDE.read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if open_at is None:
            if line.startswith("## "):
                section = line.strip()
            elif fence:  # other languages are read past, not kept (open_at 0)
                open_at = number + 1 if fence["lang"] == "python" else 0
                lines, indent = [], fence["indent"]
        elif fence and fence["indent"] == indent and not fence["lang"]:
            if open_at:
                blocks.append((open_at, textwrap.dedent("\n".join(lines)), section))
            open_at = None
        else:
            lines.append(line)
    assert open_at is None, f"{GUIDE}: a code block opened and never closed"
    return blocks


def _parts() -> tuple[list, list, list]:
    """The blocks of the plugin, of its tests, and the rest."""
    plugin, tests, rest, seen_testing = [], [], [], False
    for block in python_blocks():
        if block[2] == TESTING:
            seen_testing = True
            tests.append(block)
        else:
            (rest if seen_testing else plugin).append(block)
    return plugin, tests, rest


def as_source(blocks) -> str:
    """The blocks as one module whose line numbers are the guide's."""
    lines: list[str] = []
    for first, code, _ in blocks:
        lines += [""] * (first - 1 - len(lines))
        lines += code.splitlines()
    return "\n".join(lines) + "\n"


def guide_test_names() -> list[str]:
    try:
        tree = ast.parse(as_source(_parts()[1]))
    except SyntaxError:
        return []  # test_the_guide_has_a_plugin_and_its_tests reports it
    return [
        n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    ]


@pytest.fixture
def my_setup(tmp_path):
    """``my_setup.py`` written from the guide, importable as ``my_setup``."""
    path = tmp_path / "my_setup.py"
    path.write_text(as_source(_parts()[0]), encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        yield path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("my_setup", None)


def test_the_guide_has_a_plugin_and_its_tests():
    plugin, tests, _ = _parts()
    assert plugin, f"no ```python blocks before {TESTING!r} in {GUIDE}"
    assert tests, f"no ```python blocks under {TESTING!r} in {GUIDE}"
    compile(as_source(plugin), str(GUIDE), "exec")
    compile(as_source(tests), str(GUIDE), "exec")
    assert len(guide_test_names()) >= 3, "the guide's tests define fewer than 3 test functions"


def test_no_block_leaves_code_out_with_an_ellipsis():
    for first, code, _ in python_blocks():
        tree = ast.parse(code)
        gaps = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value is ...]
        assert not gaps, f"{GUIDE}:{first + gaps[0] - 1}: `...` in a Python block"


def test_my_setup_loads_as_a_local_plugin_file(my_setup):
    registries = collect_registries(make_plugin_manager(local_files=[my_setup]))
    assert registries["setups"].get("rs_leader").plugin == "my_setup"


@pytest.mark.parametrize("name", guide_test_names())
def test_the_guides_own_test_passes(name, my_setup, request):
    namespace = {"__name__": "test_my_setup"}
    exec(compile(as_source(_parts()[1]), str(GUIDE), "exec"), namespace)
    test = namespace[name]
    test(**{p: request.getfixturevalue(p) for p in inspect.signature(test).parameters})


def test_every_block_after_the_tests_runs():
    for block in _parts()[2]:
        exec(compile(as_source([block]), str(GUIDE), "exec"), {"__name__": "guide_block"})
