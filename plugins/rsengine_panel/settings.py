"""The panel's settings: ``port``, ``host`` and ``refresh``, checked."""

from __future__ import annotations

import ipaddress

import attrs

DEFAULT_PORT = 8765
LOOPBACK = "127.0.0.1"
SETTINGS = ("port", "host", "refresh")


class SettingsError(ValueError):
    """A bad setting: ``key`` names it (``"port"``), ``message`` says why."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


@attrs.frozen
class PanelSettings:
    port: int = DEFAULT_PORT  # 0: any free port
    host: str = LOOPBACK
    refresh: float = 0.5  # seconds between the page's requests

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_settings(settings: dict) -> PanelSettings:
    """The settings of ``outputs: {panel: {...}}``; raises :class:`SettingsError`."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise SettingsError(unknown[0], f"unknown setting; valid: {', '.join(SETTINGS)}")
    return PanelSettings(
        port=_port(settings.get("port", DEFAULT_PORT)),
        host=_host(settings.get("host", LOOPBACK)),
        refresh=_refresh(settings.get("refresh", 0.5)),
    )


def _port(value) -> int:
    # a string of digits too: `--set outputs.panel.port=...` and the CLI may give text
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise SettingsError(
            "port", f"{value!r} is not a port number from 0 to 65535 (0: any free port)"
        )
    return value


def _host(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError("host", f"{value!r} is not a host name or address")
    return value.strip()


def _refresh(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.05 <= value <= 60:
        raise SettingsError("refresh", f"{value!r} is not a number of seconds from 0.05 to 60")
    return float(value)
