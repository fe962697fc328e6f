"""Output ``panel``: the rule book's RS panel, live, on a local web page.

During a run (live, paced or a plain replay) the output serves one page on
``http://127.0.0.1:8765/`` (settings ``port``, ``host``, ``refresh``): every
instrument's RS% from its prior close through the current session, the
signals marked, the regime shaded and $TICK beneath, drawn by the evaluation
report's own chart code (:mod:`rsengine_evaluate.rs_panel`) from the values
the engine computed. The page asks for the figure again every ``refresh``
seconds and redraws when a slice or a signal came in. See docs/panel.md.

Modules: :mod:`.settings` (the settings, checked), :mod:`.live` (the current
session's bars and signals, and the panel drawn from them), :mod:`.server`
(the HTTP server on its own thread), :mod:`.page` (the page),
:mod:`.output` (the output the engine calls). plotly is imported only when a
panel is configured (``pip install rsengine[panel]``).
"""

import rsengine


@rsengine.hookimpl
def rsengine_register_outputs(registry):
    from .output import PanelOutput

    registry.add(
        "panel",
        PanelOutput,
        "the RS panel, live on a local web page (127.0.0.1:8765): RS%, signals, regime, $TICK",
    )
