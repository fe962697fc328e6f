"""Checks for the settings of the rs plugins' components: a bad value raises
ValueError naming the setting, which the runner turns into a config error
pointing at the component in the YAML file."""

from __future__ import annotations

import math
import numbers


def check_settings(settings: dict, defaults: dict) -> dict:
    """The defaults overlaid with ``settings``; an unknown name is refused."""
    unknown = set(settings) - set(defaults)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {list(defaults)}")
    return {**defaults, **settings}


def count_setting(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def number_setting(name: str, value, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return float(value)


def positive_setting(name: str, value, what: str = "a number") -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be {what} > 0, got {value!r}")
    return float(value)


def choice_setting(name: str, value, choices):
    if value not in choices:
        raise ValueError(f"{name} {value!r} is not one of {', '.join(choices)}")
    return value


def symbol_of_root(context, roots: tuple, given=None, what: str = "instrument") -> str | None:
    """``given`` when it is a configured instrument (else refused), or the first
    configured instrument whose root is one of ``roots``, or None."""
    if given is not None:
        if given not in context.symbols:
            raise ValueError(f"{what} {given!r} is not a configured instrument")
        return str(given)
    for symbol in context.symbols:
        try:
            root = context.config.instrument(symbol).root
        except (AttributeError, KeyError):
            continue
        if root in roots:
            return symbol
    return None
