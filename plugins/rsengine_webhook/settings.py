"""The webhook output's settings (docs/webhooks.md), checked.

Every problem is a :class:`SettingsError` carrying the key path inside the
output's settings, e.g. ``("endpoints", "desk", "secrets", 0)``, so the host
can point at ``outputs.webhook.endpoints.desk.secrets[0]`` in the YAML. No
message quotes a secret or a URL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import attrs

from rsengine.config import format_path, not_one_of, parse_duration

from .secrets import is_reference

STYLES = ("json", "traderspost", "discord", "slack")
SIGNAL_KINDS = ("context", "setup", "exit", "halt")
DEFAULT_KINDS = ("setup", "exit", "halt")
# waits between attempts: 8 attempts over about a day and a half, Svix-like
DEFAULT_RETRY = ("5s", "5min", "30min", "2h", "5h", "10h", "10h")
DEFAULT_RATE_LIMIT = {"slack": 1.0, "discord": 0.5}  # messages per second
DEFAULT_MAX_AGE = {"traderspost": "60s"}  # an order for an old bar is never sent
DEFAULT_OUTBOX = "rsengine-out/webhook-outbox.sqlite"
DEFAULT_DRAIN = "5s"
DEFAULT_TIMEOUT = "15s"
OUTPUT_KEYS = ("endpoints", "outbox", "drain")
ENDPOINT_KEYS = (
    "url",
    "style",
    "secrets",
    "timeout",
    "retry",
    "rate_limit",
    "kinds",
    "orders",
    "dry_run",
    "max_age",
)
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
URL_IN_REFERENCE = {
    "traderspost": "its password",
    "discord": "its token",
    "slack": "its token",
}


class SettingsError(ValueError):
    def __init__(self, key: tuple, message: str):
        self.key, self.message = tuple(key), message
        super().__init__(f"{format_path(key)}: {message}" if key else message)


@attrs.frozen
class EndpointSettings:
    """One endpoint as configured: references, never secrets (it is stored in
    the outbox so that ``rsengine outbox retry`` can deliver without the config)."""

    name: str
    style: str = "json"
    url: str = ""  # env:VAR, file:PATH, or (json style only) the URL itself
    secrets: tuple = ()  # references
    timeout: float = 15.0
    retry: tuple = ()  # seconds to wait before attempt 2, 3, ...
    rate_limit: float | None = None  # messages per second
    kinds: tuple = DEFAULT_KINDS
    orders: bool = False
    dry_run: bool = False
    max_age: float | None = None  # seconds from the signal's bar close

    def to_json(self) -> str:
        return json.dumps(attrs.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EndpointSettings:
        data = json.loads(text)
        for name in ("secrets", "retry", "kinds"):
            data[name] = tuple(data[name])
        return cls(**data)


@attrs.frozen
class OutputSettings:
    endpoints: tuple  # EndpointSettings, in config order
    outbox: Path
    drain: float


def parse(settings: dict, env_names: dict | None = None) -> OutputSettings:
    """``env_names`` maps a value the config read through ``${NAME}`` to NAME,
    for a hint when such a value stands where a reference belongs."""
    _only(settings, OUTPUT_KEYS, ())
    endpoints = settings.get("endpoints")
    if not isinstance(endpoints, dict) or not endpoints:
        raise SettingsError(
            ("endpoints",), "expected a mapping of endpoint names to settings (one or more)"
        )
    parsed = tuple(
        _endpoint(name, value or {}, env_names or {}) for name, value in endpoints.items()
    )
    outbox = settings.get("outbox", DEFAULT_OUTBOX)
    if not isinstance(outbox, str) or not outbox.strip():
        raise SettingsError(("outbox",), "expected the path of the outbox file")
    return OutputSettings(parsed, Path(outbox), _seconds(settings, "drain", DEFAULT_DRAIN, ()))


def _only(settings: dict, valid: tuple, where: tuple) -> None:
    if not isinstance(settings, dict):
        raise SettingsError(where, "expected a mapping")
    for key in settings:
        if key not in valid:
            raise SettingsError((*where, key), "unknown setting; " + not_one_of(key, valid))


def _endpoint(name, settings: dict, env_names: dict) -> EndpointSettings:
    where = ("endpoints", name)
    if not isinstance(name, str) or not NAME.match(name):
        raise SettingsError(where, "an endpoint name is 1 to 64 letters, digits, _ or -")
    _only(settings, ENDPOINT_KEYS, where)
    style = settings.get("style", "json")
    if style not in STYLES:
        raise SettingsError((*where, "style"), not_one_of(style, STYLES))
    orders, dry_run = (_flag(settings, key, where) for key in ("orders", "dry_run"))
    if style == "traderspost" and not (orders or dry_run):
        raise SettingsError(
            (*where, "orders"),
            "the traderspost style places orders through your broker: set orders: true to "
            "send them, or dry_run: true to log what would be sent without sending",
        )
    kinds = _kinds(settings, where, style)
    rate = settings.get("rate_limit", DEFAULT_RATE_LIMIT.get(style))
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))):
        raise SettingsError((*where, "rate_limit"), "expected messages per second (a number)")
    if rate is not None and rate <= 0:
        raise SettingsError((*where, "rate_limit"), "expected more than 0 messages per second")
    retry = settings.get("retry", DEFAULT_RETRY)
    if not isinstance(retry, list | tuple):
        raise SettingsError((*where, "retry"), "expected a list of waits, e.g. [5s, 5min, 2h]")
    max_age = settings.get("max_age", DEFAULT_MAX_AGE.get(style))
    return EndpointSettings(
        name=name,
        style=style,
        url=_url(settings, where, style, dry_run, env_names),
        secrets=_secrets(settings, where, style, env_names),
        timeout=_seconds(settings, "timeout", DEFAULT_TIMEOUT, where, positive=True),
        retry=tuple(_duration(w, (*where, "retry", i)) for i, w in enumerate(retry)),
        rate_limit=None if rate is None else float(rate),
        kinds=kinds,
        orders=orders,
        dry_run=dry_run,
        max_age=None if max_age is None else _duration(max_age, (*where, "max_age")),
    )


def _flag(settings: dict, key: str, where: tuple) -> bool:
    value = settings.get(key, False)
    if not isinstance(value, bool):
        raise SettingsError((*where, key), "expected true or false")
    return value


def _kinds(settings: dict, where: tuple, style: str) -> tuple:
    kinds = settings.get("kinds", DEFAULT_KINDS)
    if isinstance(kinds, str):
        kinds = [kinds]
    if not isinstance(kinds, list | tuple) or not kinds:
        raise SettingsError((*where, "kinds"), f"expected a list of {', '.join(SIGNAL_KINDS)}")
    for i, kind in enumerate(kinds):
        if kind not in SIGNAL_KINDS:
            raise SettingsError((*where, "kinds", i), not_one_of(kind, SIGNAL_KINDS))
    if style == "traderspost" and "context" in kinds:
        raise SettingsError(
            (*where, "kinds"), "context signals are no orders: the traderspost style sends "
            "setup, exit and halt only",
        )  # fmt: skip
    return tuple(dict.fromkeys(kinds))


def _url(settings: dict, where: tuple, style: str, dry_run: bool, env_names: dict) -> str:
    url = settings.get("url")
    if url is None and dry_run:
        return ""
    key = (*where, "url")
    if not isinstance(url, str) or not url.strip():
        raise SettingsError(key, "expected the endpoint's URL, or env:VARIABLE or file:PATH")
    if is_reference(url):
        return url
    if style in URL_IN_REFERENCE:
        raise SettingsError(
            key,
            f"a {style} URL carries {URL_IN_REFERENCE[style]}: give it as env:VARIABLE or "
            f"file:PATH, not in the config (the value is not shown){_hint(url, env_names)}",
        )
    if not url.startswith(("http://", "https://")):
        raise SettingsError(key, "expected an http:// or https:// URL (the value is not shown)")
    return url


def _secrets(settings: dict, where: tuple, style: str, env_names: dict) -> tuple:
    secrets = settings.get("secrets", [])
    if isinstance(secrets, str):
        secrets = [secrets]
    key = (*where, "secrets")
    if not isinstance(secrets, list | tuple):
        raise SettingsError(key, "expected a list of env:VARIABLE or file:PATH references")
    if style == "json" and not secrets:
        raise SettingsError(
            key, "the json style signs every message: give one or more env:VARIABLE or "
            "file:PATH references to whsec_ secrets",
        )  # fmt: skip
    for i, reference in enumerate(secrets):
        if not is_reference(reference):
            raise SettingsError(
                (*key, i),
                "a secret is given as env:VARIABLE or file:PATH, never in the config itself "
                f"(the value is not shown){_hint(reference, env_names)}",
            )
    return tuple(secrets)


def _hint(value, env_names: dict) -> str:
    name = env_names.get(value) if isinstance(value, str) else None
    return f"; it came from ${{{name}}}: write env:{name} instead" if name else ""


def _seconds(settings: dict, key: str, default, where: tuple, positive=False) -> float:
    seconds = _duration(settings.get(key, default), (*where, key))
    if positive and seconds <= 0:
        raise SettingsError((*where, key), "expected a duration above 0")
    return seconds


def _duration(value, key: tuple) -> float:
    try:
        return parse_duration(value) / 1e9
    except (ValueError, TypeError, AttributeError) as exc:
        raise SettingsError(key, str(exc)) from None
