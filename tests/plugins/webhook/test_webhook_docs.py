"""docs/builtins.md names every setting of the delivery outputs, and
docs/cli.md every option of the webhook commands, read from the code (the
settings tuples, the argparse parsers), never from its text."""

import argparse
import re
from pathlib import Path

import pytest
from rsengine_ninjatrader import settings as nt_settings
from rsengine_webhook import settings as wh_settings
from rsengine_webhook.commands import add_commands

DOCS = Path(__file__).resolve().parents[3] / "docs"


def section(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def table_keys(text: str) -> list[str]:
    """The first column of each Markdown table row: `key`."""
    return re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE)


@pytest.mark.parametrize(
    ("heading", "names"),
    [
        ("## Output `ninjatrader`", nt_settings.SETTINGS),
        ("## Output `webhook`", wh_settings.OUTPUT_KEYS + wh_settings.ENDPOINT_KEYS),
    ],
    ids=["ninjatrader", "webhook"],
)
def test_builtins_md_has_one_row_for_every_setting(heading, names):
    keys = table_keys(section(DOCS / "builtins.md", heading))
    assert sorted(keys) == sorted(names)


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(prog="rsengine")
    add_commands(parser.add_subparsers(dest="command"))
    top = parser._subparsers._group_actions[0].choices
    out = {"webhook-receiver": top["webhook-receiver"]}
    actions = top["outbox"]._subparsers._group_actions[0].choices
    out.update({f"outbox {name}": sub for name, sub in actions.items()})
    return out


@pytest.mark.parametrize("name", sorted(commands()))
def test_cli_md_shows_each_webhook_command_with_every_option(name):
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    usage = [line for line in text.splitlines() if line.startswith(f"rsengine {name} ")]
    assert usage, f"no usage line for rsengine {name}"
    options = {
        opt
        for action in commands()[name]._actions
        for opt in action.option_strings
        if opt.startswith("--") and opt not in ("--help", "--log-level")
    }
    missing = [opt for opt in options if not any(opt in line for line in usage)]
    assert not missing
