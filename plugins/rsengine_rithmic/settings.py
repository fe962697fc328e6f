"""The ``rithmic`` source's settings, checked when the source is built, each
problem naming its key; the credentials are read only when connecting."""

from __future__ import annotations

import attrs

from rsengine import secrets
from rsengine.config import parse_duration
from rsengine.feeds import FeedError

SETTINGS = (
    "user",
    "password",
    "system_name",
    "url",
    "app_name",
    "app_version",
    "exchanges",
    "start",
    "end",
    "warmup",
    "stagger",
    "timeout",
    "max_pages",
    "page_rows",
    "reconnect",
)
CREDENTIALS = ("user", "password", "system_name", "url")
DEFAULT_APP_VERSION = "0.1"


@attrs.frozen
class Credentials:
    user: str
    password: str
    system_name: str
    url: str


@attrs.frozen
class RithmicSettings:
    """What the source was configured with (credentials as written: a
    reference or, except the password, plain text)."""

    written: dict  # credential key -> as written in the config
    app_name: str
    app_version: str
    exchanges: dict  # symbol -> exchange
    start: object  # session date or None
    end: object
    warmup_ns: int
    stagger_s: float
    timeout_s: float
    max_pages: int
    page_rows: int
    reconnect_first_s: float
    reconnect_most_s: float

    @property
    def url_shown(self) -> str:
        """The gateway as the config names it (a reference stays a reference)."""
        return self.written["url"]

    def shown(self, key) -> str:
        """A credential as written: plain text, or its reference (never what it points at)."""
        return self.written[key]

    def secret_texts(self, creds: Credentials) -> tuple:
        """What must never reach a log: user and password, and whatever a
        reference pointed at."""
        read = [getattr(creds, k) for k in CREDENTIALS if secrets.is_reference(self.written[k])]
        return tuple({creds.user, creds.password, *read} - {""})

    def credentials(self, env=None) -> Credentials:
        """The credentials, read from their references; FeedError naming the key."""
        values = {}
        for key in CREDENTIALS:
            written = self.written[key]
            try:
                values[key] = (
                    secrets.read_reference(written, env)
                    if secrets.is_reference(written)
                    else written
                )
            except secrets.SecretError as exc:
                raise FeedError(f"rithmic source, {key}: {exc}") from None
        url = values["url"]
        if "://" not in url:
            url = f"wss://{url}"
        if not url.startswith(("wss://", "ws://")):
            raise FeedError(
                f"rithmic source, url: {self.url_shown} is not a wss:// gateway address"
            )
        return Credentials(values["user"], values["password"], values["system_name"], url)


def parse(settings: dict, symbols, config, refuse) -> RithmicSettings:
    """``refuse(key, message)`` makes the error to raise."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise refuse(unknown[0], f"unknown setting (settings: {', '.join(SETTINGS)})")
    written = {}
    for key in CREDENTIALS:
        value = settings.get(key)
        if not isinstance(value, str) or not value.strip():
            raise refuse(key, _needs(key))
        if secrets.is_reference(value) and not value.partition(":")[2]:
            raise refuse(key, f"{value!r} names no variable or file")
        if key == "password" and not secrets.is_reference(value):
            raise refuse(key, "write the password as env:VARIABLE or file:PATH, never itself")
        written[key] = value.strip()
    app_name = settings.get("app_name")
    if not isinstance(app_name, str) or not app_name.strip():
        raise refuse(
            "app_name",
            "give the app name Rithmic approved for you, with its prefix (e.g. abcd:rsengine)",
        )
    app_version = str(settings.get("app_version", DEFAULT_APP_VERSION))
    exchanges = _exchanges(settings.get("exchanges") or {}, symbols, config, refuse)
    return RithmicSettings(
        written=written,
        app_name=app_name.strip(),
        app_version=app_version,
        exchanges=exchanges,
        start=_date(settings, "start", refuse),
        end=_date(settings, "end", refuse),
        warmup_ns=_duration(settings, "warmup", "2h", refuse),
        stagger_s=_duration(settings, "stagger", "0.5s", refuse) / 1e9,
        timeout_s=_positive(settings, "timeout", "30s", refuse),
        max_pages=_whole(settings, "max_pages", 1000, refuse),
        page_rows=_whole(settings, "page_rows", 10_000, refuse),
        **_reconnect(settings.get("reconnect") or {}, refuse),
    )


def _needs(key) -> str:
    examples = {
        "user": "env:RITHMIC_USER",
        "password": "env:RITHMIC_PASSWORD",
        "system_name": "Rithmic Paper Trading",
        "url": "rprotocol.rithmic.com:443",
    }
    return f"needs a text or an env:/file: reference, e.g. {examples[key]}"


def _exchanges(given, symbols, config, refuse) -> dict:
    if not isinstance(given, dict):
        raise refuse("exchanges", "expected a mapping symbol -> exchange, e.g. {YM: CBOT}")
    for symbol, exchange in given.items():
        if symbol not in symbols:
            raise refuse(
                ("exchanges", symbol), f"not a configured instrument ({', '.join(symbols)})"
            )
        if not isinstance(exchange, str) or not exchange.strip():
            raise refuse(("exchanges", symbol), "expected an exchange code such as CME or CBOT")
    out = {}
    for symbol in symbols:
        if symbol in given:
            out[symbol] = given[symbol].strip()
        else:
            out[symbol] = config.instrument(symbol).spec.exchange
    return out


def _date(settings, key, refuse):
    import datetime as dt

    value = settings.get(key)
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise refuse(key, f"{value!r} is not a session date YYYY-MM-DD") from None


def _duration(settings, key, default, refuse) -> int:
    try:
        return parse_duration(settings.get(key, default))
    except ValueError as exc:
        raise refuse(key, str(exc)) from None


def _positive(settings, key, default, refuse) -> float:
    ns = _duration(settings, key, default, refuse)
    if ns <= 0:
        raise refuse(key, "must be more than 0")
    return ns / 1e9


def _whole(settings, key, default, refuse) -> int:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise refuse(key, f"{value!r} is not a whole number >= 1")
    return value


def _reconnect(given, refuse) -> dict:
    if not isinstance(given, dict):
        raise refuse(
            "reconnect", "expected a mapping with first and most, e.g. {first: 1s, most: 60s}"
        )
    for key in given:
        if key not in ("first", "most"):
            raise refuse(("reconnect", key), "unknown setting (settings: first, most)")
    first = _positive(given, "first", "1s", lambda k, m: refuse(("reconnect", k), m))
    most = _positive(given, "most", "60s", lambda k, m: refuse(("reconnect", k), m))
    if most < first:
        raise refuse(("reconnect", "most"), f"{most:g} s is less than first ({first:g} s)")
    return {"reconnect_first_s": first, "reconnect_most_s": most}
