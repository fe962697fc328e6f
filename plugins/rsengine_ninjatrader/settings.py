"""The ``ninjatrader`` output's settings, checked; an error names the key.

See docs/ninjatrader.md for what each one means.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from rsengine.config import not_one_of, parse_duration
from rsengine.exchange import contracts

from .instruments import canonical

SETTINGS = (
    "folder",
    "account",
    "orders",
    "dry_run",
    "entry_order",
    "tif",
    "atm_strategy",
    "connection",
    "queue_expiry",
    "on_drift",
    "contracts",
    "signal_file",
)
ENTRY_ORDERS = ("market", "limit")
TIFS = ("DAY", "GTC")
ON_DRIFT = ("report", "flatten")
DEFAULT_QUEUE_EXPIRY = "60s"


class SettingError(ValueError):
    """A bad value of one setting; ``key`` is its path inside the settings."""

    def __init__(self, key: tuple, message: str):
        super().__init__(f"{'.'.join(key)}: {message}")
        self.key, self.message = key, message


@attrs.frozen
class Settings:
    folder: Path
    account: str | None = None
    orders: bool = False
    dry_run: bool = False
    entry_order: str = "market"
    tif: str = "DAY"
    atm_strategy: str | None = None
    connection: str | None = None
    queue_expiry_ns: int = parse_duration(DEFAULT_QUEUE_EXPIRY)
    on_drift: str = "report"
    contracts: dict = attrs.field(factory=dict)
    signal_file: Path | None = None

    @property
    def places_orders(self) -> bool:
        return self.orders and self.account is not None

    @property
    def commands_folder(self) -> Path:
        """Where the OIF files go: ``incoming/``, or ``dry-run/`` in a dry run."""
        return self.folder / ("dry-run" if self.dry_run else "incoming")

    @property
    def outgoing(self) -> Path:
        return self.folder / "outgoing"

    @property
    def journal(self) -> Path:
        """The dry run keeps its own journal: what it wrote was never sent."""
        if self.dry_run:
            return self.folder / "dry-run" / "bridge-journal.jsonl"
        return self.folder / "rsengine" / "bridge-journal.jsonl"


def parse(settings: dict) -> Settings:
    """The checked settings; a :class:`SettingError` for the first bad one."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise SettingError((unknown[0],), f"unknown setting; valid: {', '.join(SETTINGS)}")
    if settings.get("folder") is None:
        raise SettingError(
            ("folder",),
            "required: the NinjaTrader 8 user-data folder that holds incoming/ and outgoing/ "
            "(e.g. C:/Users/you/Documents/NinjaTrader 8)",
        )
    folder = _path(settings["folder"], "folder")
    account = _field_text(settings.get("account"), "account")
    orders = _bool(settings.get("orders", False), "orders")
    if orders and account is None:
        raise SettingError(
            ("orders",),
            "orders: true needs an account: name the NinjaTrader account under account "
            "(its Name, e.g. Sim101)",
        )
    signal_file = settings.get("signal_file")
    return Settings(
        folder=folder,
        account=account,
        orders=orders,
        dry_run=_bool(settings.get("dry_run", False), "dry_run"),
        entry_order=_choice(settings.get("entry_order", "market"), ENTRY_ORDERS, "entry_order"),
        tif=_choice(settings.get("tif", "DAY"), TIFS, "tif", upper=True),
        atm_strategy=_field_text(settings.get("atm_strategy"), "atm_strategy"),
        connection=_connection(settings.get("connection")),
        queue_expiry_ns=_duration(settings.get("queue_expiry", DEFAULT_QUEUE_EXPIRY)),
        on_drift=_choice(settings.get("on_drift", "report"), ON_DRIFT, "on_drift"),
        contracts=_contracts(settings.get("contracts")),
        signal_file=(
            folder / "rsengine" / "signals.txt"
            if signal_file is None
            else _path(signal_file, "signal_file")
        ),
    )


def _path(value, key: str) -> Path:
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise SettingError((key,), f"expected a folder or file path, got {value!r}")
    return Path(str(value).strip()).expanduser()


def _bool(value, key: str) -> bool:
    if not isinstance(value, bool):
        raise SettingError((key,), f"expected true or false, got {value!r}")
    return value


def _choice(value, choices, key: str, upper: bool = False) -> str:
    if isinstance(value, str) and upper:
        value = value.upper()
    if not isinstance(value, str) or value not in choices:
        raise SettingError((key,), not_one_of(value, choices))
    return value


def _field_text(value, key: str | tuple) -> str | None:
    """Text that goes into an OIF field: no ``;`` and no line break."""
    key = key if isinstance(key, tuple) else (key,)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SettingError(key, f"expected a name, got {value!r}")
    if any(c in value for c in ";\r\n"):
        raise SettingError(key, f"{value!r} cannot hold ';' or a line break (OIF fields)")
    return value.strip()


def _connection(value) -> str | None:
    name = _field_text(value, "connection")
    if name is not None and name.lower().endswith(".txt"):
        name = name[:-4]
    return name


def _duration(value) -> int:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise SettingError(("queue_expiry",), str(exc)) from None


def _contracts(value) -> dict:
    """``{ES: "ES 03-26", "NQ 12-25": "NQ 03-26"}``: by root or by contract name
    -> the NinjaTrader instrument name to trade."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SettingError(
            ("contracts",), "expected a mapping of root or contract to a NinjaTrader name"
        )
    out = {}
    for key, name in value.items():
        where = ("contracts", str(key))
        if not isinstance(key, str) or not (key in contracts.CONTRACTS or _is_nt_name(key)):
            hint = contracts.suggest_root(key) if isinstance(key, str) else None
            raise SettingError(
                where,
                f"{key!r} is neither a root ({', '.join(contracts.known_roots())}) nor a "
                "contract such as 'ES 12-25'" + (f"; did you mean {hint!r}?" if hint else ""),
            )
        out[key if key in contracts.CONTRACTS else canonical(key)] = _field_text(name, where)
    return out


def _is_nt_name(text: str) -> bool:
    try:
        contracts.parse_contract(text)
    except ValueError:
        return False
    return True
