"""rsengine_ib: the ``ib`` live source, Interactive Brokers TWS or Gateway
through ``ib_async`` (docs/ib.md).

ES, NQ, RTY, YM and their micros (front month by the roll calendar, or the
instrument's fixed ``contract``), ZN/ZB, and the NYSE internals ``$TICK``
(``TICK-NYSE``, its last price) and ``$ADD`` (``AD-NYSE``, bid minus ask),
named by each instrument's ``feed_symbol``. Warm-up and gaps are backfilled
from history within IB's pacing rules; then tick-by-tick trades or 5-second
real-time bars stream in.
"""

from __future__ import annotations

import rsengine

from .settings import parse


@rsengine.hookimpl
def rsengine_register_sources(registry):
    registry.add("ib", make_source, "Interactive Brokers TWS/Gateway (live): futures, $TICK, $ADD")


def make_source(settings: dict, context):
    from .feed import IBFeed

    checked = parse(settings, context.bar_ns)
    return IBFeed(context.name, context.symbols, context.config, checked)
