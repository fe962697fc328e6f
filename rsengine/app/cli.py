"""The ``rsengine`` command.

Exit codes: 0 success, 2 usage or config error, 1 runtime failure.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from rsengine import __version__

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


LOG_LEVELS = ("debug", "info", "warning", "error")
PANEL_PORT = 8765


def add_config_arguments(p) -> None:
    """A command's ``CONFIG`` (default: the built-in demo) and its repeatable
    ``--set KEY.PATH=VALUE`` overrides (``args.overrides``); plugins' commands
    take them the same way."""
    p.add_argument("config", nargs="?", help="YAML config file (default: the built-in demo)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override one config value (repeatable)",
    )


def at_least_one(text: str) -> int:
    """An argparse type for counts (workers, draws ...): a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser(pm=None) -> argparse.ArgumentParser:
    """The parser with the built-in commands and those plugins add
    (``rsengine_add_commands``; ``pm`` default: the installed plugins)."""
    parser = argparse.ArgumentParser(
        prog="rsengine",
        description="Relative strength across ES, NQ, RTY and YM futures.",
    )
    parser.add_argument("--version", action="version", version=f"rsengine {__version__}")
    parser.add_argument("--log-level", default="warning", choices=LOG_LEVELS)
    common = add_log_level(argparse.ArgumentParser(add_help=False))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, help):
        return sub.add_parser(name, help=help, parents=[common])

    def with_config(p):
        add_config_arguments(p)
        return p

    run = with_config(command("run", "run a config: replay, paced replay or live"))
    run.add_argument(
        "--no-progress", action="store_true", help="no progress bar (same as run.progress=off)"
    )
    run.add_argument(
        "--panel",
        nargs="?",
        const=PANEL_PORT,
        type=int,
        metavar="PORT",
        help=f"serve the live RS panel on http://127.0.0.1:PORT (default {PANEL_PORT})",
    )
    with_config(command("validate", "check a config and its plugins without running"))
    check = with_config(command("check-feed", "connect each live source, list what it sees, exit"))
    check.add_argument("--timeout", type=float, default=15.0, help="seconds per source (15)")
    command("plugins", "list installed plugins and what they provide")
    _plugin_commands(sub, pm)
    return parser


def _plugin_commands(sub, pm) -> None:
    """Commands from plugins, each also taking ``--log-level`` after its name."""
    from rsengine.host.plugins import make_plugin_manager

    built_in = set(sub.choices)
    pm = pm or make_plugin_manager()
    pm.hook.rsengine_add_commands(subparsers=sub)
    for name, p in sub.choices.items():
        if name not in built_in and "--log-level" not in p._option_string_actions:
            add_log_level(p)


def add_log_level(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--log-level`` after a command's name; SUPPRESS keeps it from undoing
    the one before the name."""
    parser.add_argument(
        "--log-level", default=argparse.SUPPRESS, choices=LOG_LEVELS, help="default: warning"
    )
    return parser


def main(argv=None) -> int:
    from rsengine.host.plugins import PluginLoadError

    try:
        parser = build_parser()
    except PluginLoadError as exc:
        print(f"rsengine: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from rsengine.app.logs import configure_logging

    configure_logging(args.log_level)
    from rsengine.config import ConfigError
    from rsengine.host.engine import PluginFailure
    from rsengine.host.registry import RegistryError

    try:
        if hasattr(args, "run_command"):  # a plugin's command
            return args.run_command(args)
        if args.command == "plugins":
            return _plugins()
        config = _load(args)
        if args.command == "check-feed":
            return _check_feed(config, args.timeout)
        if args.command == "validate":
            from rsengine.host.runner import build_engine

            build_engine(config)
            print(f"{config.file or 'built-in demo'}: ok")
            return EXIT_OK
        return _run(config, progress=not args.no_progress)
    except (ConfigError, RegistryError, PluginLoadError) as exc:
        print(f"rsengine: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PluginFailure as exc:
        print(f"rsengine: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (ValueError, OSError) as exc:
        print(f"rsengine: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("rsengine: interrupted", file=sys.stderr)
        return EXIT_FAILURE


def _load(args):
    from rsengine.config import load_config

    config = load_config(args.config, overrides=args.overrides)
    if getattr(args, "panel", None) is not None:
        config = with_panel(config, args.panel)
    return config


def with_panel(config, port: int):
    """``config`` with the ``panel`` output on ``port`` (the ``--panel`` flag)."""
    import attrs

    from rsengine.config import ComponentConfig

    panel = ComponentConfig("panel", {"port": port}, section="outputs")
    return attrs.evolve(config, outputs={**config.outputs, "panel": panel})


def _check_feed(config, timeout: float) -> int:
    """Each source's ``check_feed(timeout)`` lines; 1 when one cannot connect."""
    from rsengine.feeds import FeedError
    from rsengine.host.runner import build_engine

    engine = build_engine(config)
    failed = False
    for name, _, source in engine.sources:
        if not hasattr(source, "check_feed"):
            print(f"{name}: nothing to check (not a live feed)")
            continue
        try:
            lines = source.check_feed(timeout)
        except (FeedError, OSError, TimeoutError) as exc:
            print(f"{name}: FAILED: {exc}")
            failed = True
            continue
        print(f"{name}: ok")
        for line in lines:
            print(f"  {line}")
    return EXIT_FAILURE if failed else EXIT_OK


def _plugins() -> int:
    from rsengine.host.plugins import collect_registries, make_plugin_manager, plugin_versions

    pm = make_plugin_manager()
    registries = collect_registries(pm)
    provided: dict[str, list[str]] = {}
    for kind, registry in registries.items():
        for entry in registry.entries.values():
            provided.setdefault(entry.plugin, []).append(f"{kind[:-1]} {entry.name}")
    for name, version in sorted(plugin_versions(pm).items()):
        print(f"{name:20} {version:28} {', '.join(sorted(provided.get(name, []))) or '-'}")
    return EXIT_OK


def _run(config, progress: bool) -> int:
    from rsengine.app.summary import SignalTally, format_summary, run_with_progress
    from rsengine.host.runner import build_engine, data_labels

    tally = SignalTally()
    engine = build_engine(config, watchers=[tally])
    with _stop_on_signals(engine):
        summary = run_with_progress(engine, sys.stderr, None if progress else "off")
    print(format_summary(summary, engine, data_labels(engine.sources), tally))
    return EXIT_OK


@contextlib.contextmanager
def _stop_on_signals(engine):
    """Ctrl-C or SIGTERM asks the engine to stop: it processes what it took in,
    closes every output (the outbox flushed, the journal synced) and prints
    its summary. A second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        if engine.stop_requested.is_set():
            raise KeyboardInterrupt
        print(f"rsengine: {signal.Signals(signum).name}: stopping", file=sys.stderr)
        engine.request_stop()

    before = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
