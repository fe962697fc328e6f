"""Evaluation benchmark (issue 12), against the plain replay in the same run.

    python bench/bench_evaluate.py [--quick]

``evaluate_vs_replay``: the wall time of ``rsengine evaluate`` minus its file
writing (the replay with the capturing output, then forward returns, trades,
1,000 baseline draws and 1,000 bootstrap resamples) against the plain replay
of the same config with its outputs left out, best of ``repeats`` each.
``--quick``: the built-in demo (35 sessions); else the real micros with the
three trade setups, ``configs/evaluate-micros.yaml`` (603 sessions). The ratio
is value / baseline: the target is under 3.

``bench_evaluate(quick, emit=None)`` reports through ``emit(name, value,
unit, baseline, ratio)`` (bench/run.py's), or prints one JSON line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

try:
    from run import best_of
    from run import emit as run_emit
except ImportError:  # imported from elsewhere: bench/ not on the path
    from bench.run import best_of
    from bench.run import emit as run_emit

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "evaluate-micros.yaml"


def bench_evaluate(quick: bool, emit=None, draws: int = 1000, resamples: int = 1000) -> dict:
    from rsengine_evaluate.capture import capture, without_outputs
    from rsengine_evaluate.evaluate import Options, evaluate

    from rsengine.config import load_config
    from rsengine.host.runner import build_engine

    config = load_config(None if quick else str(CONFIG))
    repeats = 3 if quick else 1
    options = Options(draws=draws, resamples=resamples)

    def replay():
        build_engine(without_outputs(config)).run()

    def full():
        evaluate(capture(config), options)

    t_replay, _ = best_of(repeats, replay)
    t_eval, _ = best_of(repeats, full)
    what = "the demo" if quick else "614 session dates of real micros, context + 3 trade setups"
    unit = f"s ({what}; {draws:,} draws, {resamples:,} resamples)"
    (emit or run_emit)("evaluate_vs_replay", t_eval, unit, t_replay, t_eval / t_replay)
    return {"replay_s": t_replay, "evaluate_s": t_eval}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the demo instead of the micros")
    args = parser.parse_args(argv)
    from rsengine.app.logs import configure_logging

    configure_logging("warning")
    bench_evaluate(args.quick)


if __name__ == "__main__":
    main()
