"""Which core a plain import gets, and the switch to the pure-Python twin."""

import os
import subprocess
import sys

PROBE = """
import rsengine.core as c
from rsengine.core.pure import aggregate, ring, slices
pure = (aggregate.BarAggregator, ring.BarRing, ring.RollingCorr, slices.SliceAssembler)
active = (c.BarAggregator, c.BarRing, c.RollingCorr, c.SliceAssembler)
kinds = {"pure" if a is p else "compiled" for a, p in zip(active, pure)}
print(c.USING_EXTENSION, "+".join(sorted(kinds)))
"""


def run_probe(**env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSENGINE_")}
    env.update(env_overrides)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_plain_import_gets_the_compiled_core():
    assert run_probe() == ["True", "compiled"]


def test_no_extensions_variable_selects_the_pure_core():
    assert run_probe(RSENGINE_NO_EXTENSIONS="1") == ["False", "pure"]


def test_asking_for_both_cores_is_an_import_error():
    env = {**os.environ, "RSENGINE_NO_EXTENSIONS": "1", "RSENGINE_REQUIRE_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "both set" in out.stderr
