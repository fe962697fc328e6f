"""Keeping secrets out of error messages: values read from the environment
and values typed with ``--set``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

HIDDEN = "<hidden>"  # what an error shows instead of a value typed with --set


def hide_env_values(message: str, values: Mapping[str, str]) -> str:
    """``message`` with each value read from the environment shown as the
    ``${NAME}`` it came from, so that an error never prints a secret (say a
    token given under a wrong key). A value is matched as a whole word where it
    starts or ends with a letter or digit; values under four characters (a
    port digit, ``yes``) are left alone, as hiding them would garble messages."""
    for name, value in sorted(values.items(), key=lambda item: -len(item[1])):
        if len(value) >= 4:
            message = _replace_word(message, value, "${" + name + "}")  # names are \w+
    return message


def hide_override_values(message: str, texts: Iterable[str]) -> str:
    """``message`` with each of ``texts`` (an override's value and the scalars
    in it) shown as ``<hidden>``: as a whole word from four characters up (as
    :func:`hide_env_values`), and quoted (``'abc'``) whatever its length."""
    for text in sorted(set(texts) - {""}, key=len, reverse=True):
        for quoted in (repr(text), f'"{text}"', f"'{text}'"):
            message = message.replace(quoted, f"'{HIDDEN}'")
        if len(text) >= 4:
            message = _replace_word(message, text, HIDDEN)
    return message


def _replace_word(message: str, value: str, replacement: str) -> str:
    for text in {value, repr(value)[1:-1]} - {""}:
        pattern = re.escape(text)
        if re.match(r"\w", text[0]):
            pattern = r"(?<!\w)" + pattern
        if re.match(r"\w", text[-1]):
            pattern += r"(?!\w)"
        message = re.sub(pattern, lambda _: replacement, message)
    return message


def scalar_texts(value) -> list[str]:
    """The text of every string and number inside a YAML value (not the keys
    of its mappings: those are setting names, which errors must show)."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in scalar_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in scalar_texts(v)]
    if isinstance(value, bool) or value is None:
        return []
    return [str(value)]
