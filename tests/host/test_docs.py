"""docs/hooks.md documents exactly the hooks of rsengine/hookspecs.py, in file order.

The hooks are read from the module (pluggy and ``inspect``), never from its
source text; the doc's headings are read from the Markdown.
"""

import inspect
import re
from pathlib import Path

import pluggy
import pytest
from rsengine_record import read_bars

from rsengine import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS_MD = ROOT / "docs" / "hooks.md"
HEADING = re.compile(r"^## (rsengine_\w+)\s*$", re.MULTILINE)


def specs_in_file_order() -> list:
    """Every hookspec function of the module, in the order it is defined."""
    marker = f"{hookspecs.hookspec.project_name}_spec"
    functions = [
        fn
        for _, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, marker) and fn.__module__ == hookspecs.__name__
    ]
    return sorted(functions, key=lambda fn: fn.__code__.co_firstlineno)


def hooks_known_to_pluggy() -> set:
    pm = pluggy.PluginManager("rsengine")
    pm.add_hookspecs(hookspecs)
    return {name for name in vars(pm.hook) if name.startswith("rsengine_")}


def documented() -> list:
    return HEADING.findall(HOOKS_MD.read_text(encoding="utf-8"))


def section(name: str) -> str:
    """The text under ``## name`` up to the next ``##`` heading."""
    text = HOOKS_MD.read_text(encoding="utf-8")
    start = text.index(f"## {name}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_inspect_finds_the_same_hooks_as_pluggy():
    assert {fn.__name__ for fn in specs_in_file_order()} == hooks_known_to_pluggy()


def test_every_hook_has_a_heading_in_hooks_md():
    undocumented = hooks_known_to_pluggy() - set(documented())
    assert not undocumented, f"add a '## <hook>' section to {HOOKS_MD} for {sorted(undocumented)}"


def test_every_hook_heading_names_an_existing_hook():
    unknown = set(documented()) - hooks_known_to_pluggy()
    assert not unknown, f"{HOOKS_MD} documents hooks that do not exist: {sorted(unknown)}"


def test_each_hook_has_exactly_one_heading():
    headings = documented()
    assert len(headings) == len(set(headings))


def test_hook_headings_follow_the_order_of_hookspecs():
    assert documented() == [fn.__name__ for fn in specs_in_file_order()]


@pytest.mark.parametrize("spec", specs_in_file_order(), ids=lambda fn: fn.__name__)
def test_each_hook_section_names_every_parameter(spec):
    text = section(spec.__name__)
    missing = [p for p in inspect.signature(spec).parameters if f"`{p}`" not in text]
    assert not missing, f"## {spec.__name__} does not mention {missing}"


@pytest.mark.parametrize(
    "term",
    ["streams()", "columns", "update(slice, state)", "evaluate(slice, state)", "on_slice",
     "on_signal", "close(summary)", "on_plugin_error", "`stop`", "`disable`"],
)  # fmt: skip
def test_hooks_md_describes_component_protocols_and_error_handling(term):
    text = HOOKS_MD.read_text(encoding="utf-8")
    assert "## Component protocols" in text and "## Errors" in text
    assert term in text


def test_every_bars_csv_column_of_the_demo_is_named_in_the_docs(tmp_path):
    """Each column the demo writes is in docs/analytics.md (pair columns as
    ``corr_<a>_<b>``) or, for the bar fields, in docs/builtins.md."""
    from rsengine.config import load_config
    from rsengine.host.runner import build_engine

    one_day = ["sources.sim={seed: 7, days: 1}", "outputs={record: {}}"]
    config = load_config(overrides=[*one_day, f"outputs.record.dir={tmp_path}"])
    build_engine(config).run()
    header = list(read_bars(tmp_path).columns)
    docs = ROOT / "docs"
    named = set(re.findall(r"`([a-z0-9_<>]+)`", (docs / "analytics.md").read_text()))
    for span in re.findall(r"`([^`]+)`", (docs / "builtins.md").read_text()):
        named |= set(re.split(r"[,\s]+", span))
    pairs = [
        re.compile(n.replace("<a>", "[a-z0-9]+").replace("<b>", "[a-z0-9]+"))
        for n in named
        if "<a>" in n
    ]
    missing = [c for c in header if c not in named and not any(p.fullmatch(c) for p in pairs)]
    assert not missing
    assert len(header) > 50
