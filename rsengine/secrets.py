"""Secrets written in a config as references, ``env:VARIABLE`` or
``file:PATH``, never as the secret itself: webhook keys and URLs, a feed's
user and password. The messages name the reference, never the secret."""

from __future__ import annotations

import os
from pathlib import Path

REFERENCE_KINDS = ("env:", "file:")


class SecretError(ValueError):
    """A reference that cannot be read; the message names the reference, never
    the secret."""


def is_reference(text) -> bool:
    return isinstance(text, str) and text.startswith(REFERENCE_KINDS)


def read_reference(reference: str, env=None) -> str:
    """The text ``env:VARIABLE`` or ``file:PATH`` points at, stripped."""
    kind, _, where = reference.partition(":")
    if not where:
        raise SecretError(f"{reference!r} names no {'variable' if kind == 'env' else 'file'}")
    if kind == "env":
        value = (os.environ if env is None else env).get(where, "").strip()
        if not value:
            raise SecretError(f"environment variable {where} is not set (from {reference})")
        return value
    try:
        value = Path(where).expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise SecretError(f"cannot read {reference}: {why}") from None
    if not value:
        raise SecretError(f"{reference} is empty")
    return value
