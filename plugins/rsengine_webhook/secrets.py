"""Secret references and redaction.

A secret, and the URL of an endpoint whose URL carries one (TradersPost,
Discord, Slack), is written in the config as a reference, ``env:VARIABLE`` or
``file:PATH``, and read when the output is built; the outbox stores only the
reference. Every text that leaves the output (log lines, errors, the summary,
the outbox's error column) goes through :meth:`Endpoint.redact` first, and
URLs are shown as ``scheme://host:port/…``.
"""

from __future__ import annotations

import urllib.parse

import attrs

from rsengine.secrets import SecretError, is_reference, read_reference

from .signing import decode_secret

HIDDEN = "…"


def shown_url(url: str) -> str:
    """``https://discord.com/api/webhooks/1/TOKEN`` -> ``https://discord.com/…``:
    no user, password, path or query, which may carry a token."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}/{HIDDEN}"


def check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SecretError("is not an http:// or https:// URL (the value is not shown)")


@attrs.frozen
class Endpoint:
    """An endpoint's settings with its URL and signing keys read."""

    settings: object  # settings.EndpointSettings
    url: str
    keys: tuple = ()  # HMAC keys, in the order of settings.secrets
    hidden: tuple = ()  # texts never shown: the URL's parts, each secret

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def shown_url(self) -> str:
        return shown_url(self.url) if self.url else "(none: dry run)"

    def redact(self, text: str) -> str:
        text = text.replace(self.url, self.shown_url) if self.url else text
        for secret in self.hidden:
            text = text.replace(secret, HIDDEN)
        return text


def resolve(settings, env=None) -> Endpoint:
    """Reads the endpoint's URL and secrets. Raises :class:`SecretError` with
    ``key`` set to the settings key at fault."""
    url = ""
    if settings.url:
        url = _read(settings.url, ("url",), env) if is_reference(settings.url) else settings.url
        try:
            check_url(url)
        except SecretError as exc:
            exc.key = ("url",)
            raise
    keys, hidden = [], []
    for i, reference in enumerate(settings.secrets):
        text = _read(reference, ("secrets", i), env)
        try:
            keys.append(decode_secret(text))
        except ValueError as exc:
            raise _at(SecretError(f"{reference}: {exc}"), ("secrets", i)) from None
        hidden += [text, text.removeprefix("whsec_")]
    parts = urllib.parse.urlsplit(url)
    hidden += [p for p in (parts.path, parts.query, parts.password or "") if len(p) > 1]
    # a token alone (in an error text); shorter segments are names such as "webhooks"
    hidden += [segment for segment in parts.path.split("/") if len(segment) >= 12]
    return Endpoint(settings, url, tuple(keys), tuple(sorted(set(hidden), key=len, reverse=True)))


def _read(reference: str, key: tuple, env) -> str:
    try:
        return read_reference(reference, env)
    except SecretError as exc:
        raise _at(exc, key) from None


def _at(exc: SecretError, key: tuple) -> SecretError:
    exc.key = key
    return exc
