"""A refused ``--set KEY=VALUE`` never prints its value: the error shows the
key and what was expected, as ``--set KEY=<hidden>``.

Run through the installed command, as a user types it: the value is a
secret-like text, and neither stdout nor stderr may contain it (nor its
distinctive middle part), whatever refuses the override: the override syntax,
the config schema, or a plugin checking its settings.
"""

import subprocess
import sys

import pytest

SECRET = "whsec_c2VjcmV0LXR5cGVkLW9uLXRoZS1jb21tYW5kLWxpbmU"
MIDDLE = SECRET[8:40]

REFUSALS = [
    # (override, the key path the error names, what it says was expected)
    (f"run.mode={SECRET}", "run.mode", "is not one of replay, paced, live"),
    (f"run.speed={SECRET}", "run.speed", "expected a number"),
    (f"run.mdoe={SECRET}", "run.mdoe", "did you mean 'mode'?"),
    (f"sources.simm.seed={SECRET}", "sources.simm.seed", "no source 'simm' is configured"),
    (f"group=[ES, {SECRET}", "group", "the value is not valid YAML"),
    (SECRET, "", "expected key.path=value"),
    (
        f"outputs.webhook={{endpoints: {{desk: {{url: 'https://example.com/', "
        f"secrets: [{SECRET}]}}}}}}",
        "outputs.webhook.endpoints.desk.secrets[0]",
        "never in the config itself",
    ),
    (
        f"outputs={{ninjatrader: {{folder: nt, account: '{SECRET};x'}}}}",
        "outputs.ninjatrader.account",
        "cannot hold ';'",
    ),
    (
        f"outputs={{record: {{dir: out, token: {SECRET}}}}}",
        "outputs.record",
        "unknown setting(s) ['token']; valid: ['dir', 'format']",
    ),
]


def rsengine(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rsengine", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("override", "key", "expected"), REFUSALS, ids=lambda v: str(v)[:24])
def test_a_refused_override_names_its_key_and_never_its_value(
    tmp_path, command, override, key, expected
):
    proc = rsengine(command, "--set", override, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    for text in (proc.stdout, proc.stderr):
        assert SECRET not in text and MIDDLE not in text
    assert "Traceback" not in proc.stderr
    shown = f"--set {override.split('=')[0]}=<hidden>" if "=" in override else "--set <hidden>"
    assert proc.stderr.startswith(f"rsengine: {shown}: {key}")
    assert expected in proc.stderr


def test_an_accepted_override_still_applies_its_value(tmp_path):
    """The masking is for errors only: validate accepts a good value."""
    proc = rsengine("validate", "--set", "run.mode=paced", "--set", "run.speed=5000", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
