"""rsengine_sim: a seeded, deterministic SIMULATED market for demos and tests.

Everything this package produces is made up. ``rsengine_sim.market.SimMarket``
generates Globex-session trades for ES, NQ, RTY, YM, ZN (and optionally the
micros), one-per-second RTH prints of NYSE ``$TICK``, NYSE ``$ADD`` and ``NDX``,
and a scripted scenario per session so that every context signal and regime of
the rule book has a day on which it should fire. Outputs built on it must say
``SIMULATED`` (``rsengine_sim.market.source_label``).
"""
