"""Plugin ``evaluate``: ``rsengine evaluate CONFIG`` replays a config, scores
every signal (forward returns, simulated trades) and tests it against a
matched random baseline. See docs/evaluation.md.

Modules: :mod:`.capture` (the replay, bars and signals), :mod:`.scoring`
(forward returns, trades), :mod:`.stats` (figures per breakdown),
:mod:`.baseline` (chance: draws, bootstrap, Benjamini-Hochberg),
:mod:`.result` (the result tree and its files), :mod:`.evaluate` (the steps),
:mod:`.commands` (the command line). scipy and arch are imported only when
an evaluation runs (``pip install rsengine[evaluate]``).
"""

import rsengine


@rsengine.hookimpl
def rsengine_add_commands(subparsers):
    from .commands import add_commands

    add_commands(subparsers)
    from .calibrate import add_calibrate_command

    add_calibrate_command(subparsers)
