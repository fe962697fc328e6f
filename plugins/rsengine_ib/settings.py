"""The ``ib`` source's settings, each checked with an error naming its key."""

from __future__ import annotations

import attrs

from rsengine.config import parse_duration

STREAMS = ("ticks", "bars5s")
# history bar size -> seconds, and the longest window IB serves in one request
BAR_SIZES = {"1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30}
BAR_SIZES.update({"1 min": 60, "2 mins": 120, "5 mins": 300})
MAX_SPAN_S = {1: 1800, 5: 7200, 10: 14400, 15: 14400, 30: 28800, 60: 86400}
MAX_SPAN_S.update({120: 86400, 300: 86400})


@attrs.frozen
class IBSettings:
    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    stream: str = "ticks"
    warmup_s: int = 23 * 3600  # one Globex session
    warmup_bar: str = "1 min"
    gap_bar: str = "5 secs"
    timeout_s: float = 10.0
    reconnect_s: float = 1.0
    reconnect_max_s: float = 60.0

    @property
    def warmup_bar_s(self) -> int:
        return BAR_SIZES[self.warmup_bar]

    @property
    def gap_bar_s(self) -> int:
        return BAR_SIZES[self.gap_bar]


KEYS = (
    "host", "port", "client_id", "stream", "warmup", "warmup_bar", "gap_bar", "timeout",
    "reconnect", "reconnect_max",
)  # fmt: skip


def parse(settings: dict, bar_ns: int | None = None) -> IBSettings:
    """The checked settings; ValueError naming the key otherwise."""
    unknown = sorted(set(settings) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; valid: {list(KEYS)}")
    got = {}
    if "host" in settings:
        host = settings["host"]
        if not isinstance(host, str) or not host.strip():
            raise ValueError(f"host: expected a host name or address, got {host!r}")
        got["host"] = host.strip()
    for key, low in (("port", 1), ("client_id", 0)):
        if key in settings:
            value = settings[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{key}: expected a whole number >= {low}, got {value!r}")
            if key == "port" and value > 65535:
                raise ValueError(f"port: expected 1 to 65535, got {value}")
            got[key] = value
    if "stream" in settings:
        if settings["stream"] not in STREAMS:
            raise ValueError(f"stream: expected one of {list(STREAMS)}, got {settings['stream']!r}")
        got["stream"] = settings["stream"]
    if "warmup" in settings:
        got["warmup_s"] = _seconds("warmup", settings["warmup"], days=True)
    for key, allowed in (("warmup_bar", BAR_SIZES), ("gap_bar", ("1 secs", "5 secs"))):
        if key in settings:
            if settings[key] not in allowed:
                raise ValueError(f"{key}: expected one of {list(allowed)}, got {settings[key]!r}")
            got[key] = settings[key]
    for key, field in (("timeout", "timeout_s"), ("reconnect", "reconnect_s")):
        if key in settings:
            got[field] = _seconds(key, settings[key], positive=True)
    if "reconnect_max" in settings:
        got["reconnect_max_s"] = _seconds("reconnect_max", settings["reconnect_max"], True)
    out = IBSettings(**got)
    if out.warmup_bar_s % out.gap_bar_s:
        raise ValueError(f"warmup_bar: {out.warmup_bar!r} is not a multiple of {out.gap_bar!r}")
    if bar_ns and (bar_ns % (out.warmup_bar_s * 10**9)):
        raise ValueError(
            f"warmup_bar: {out.warmup_bar!r} does not divide the run's bars of {bar_ns // 10**9}s"
        )
    if out.reconnect_max_s < out.reconnect_s:
        raise ValueError(f"reconnect_max: {out.reconnect_max_s}s is less than reconnect")
    return out


def _seconds(key, value, days=False, positive=False) -> float:
    try:
        if days and isinstance(value, str) and value.strip().lower().endswith("d"):
            number = float(value.strip()[:-1])
            if number < 0:
                raise ValueError
            seconds = number * 86400
        else:
            seconds = parse_duration(value) / 10**9
    except ValueError:
        example = "'2h', '1d' or '90min'" if days else "'10s' or '2min'"
        raise ValueError(f"{key}: expected a duration such as {example}, got {value!r}") from None
    if positive and seconds <= 0:
        raise ValueError(f"{key}: must be more than 0, got {value!r}")
    return int(seconds) if days else seconds
