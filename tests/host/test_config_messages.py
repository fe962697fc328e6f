"""Every kind of config error, once: a bad config and the exact text a user
reads (file:line:column or the --set that gave it, the key path, what was
expected). The texts are those the hand-written structuring gave before
cattrs took it over; any change to one is a change of what users read."""

import pytest

from rsengine.config import Config, ConfigError, load_config

CASES = [
    pytest.param(
        "run: {mode: pacd}\n",
        (),
        {},
        (
            "<config>:1:13: run.mode: 'pacd' is not one of replay, paced, live; did you mean "
            "'paced'?"
        ),
        id="mode",
    ),
    pytest.param(
        "run: {mdoe: paced}\n",
        (),
        {},
        (
            "<config>:1:7: run.mdoe: unknown key 'mdoe' (expected one of mode, speed, grace, "
            "on_plugin_error, progress, market_view, stale_after, ledger); did you mean 'mode'?"
        ),
        id="unknown_run_key",
    ),
    pytest.param(
        "run: 5\n",
        (),
        {},
        "<config>:1:6: run: expected a mapping of settings, got 5 (a number)",
        id="section_not_mapping",
    ),
    pytest.param(
        "run: {speed: 0}\n",
        (),
        {},
        "<config>:1:14: run.speed: expected a number more than 0, got 0",
        id="speed_zero",
    ),
    pytest.param(
        "run: {speed: fast}\n",
        (),
        {},
        "<config>:1:14: run.speed: expected a number more than 0, got 'fast' (text)",
        id="speed_text",
    ),
    pytest.param(
        "run: {grace: soon}\n",
        (),
        {},
        (
            "<config>:1:14: run.grace: expected a duration such as '500ms', '2s' or '1min', got "
            "'soon' (text)"
        ),
        id="grace_text",
    ),
    pytest.param(
        "run: {grace: -1}\n",
        (),
        {},
        "<config>:1:14: run.grace: a duration must be 0 or more, got -1",
        id="grace_negative",
    ),
    pytest.param(
        "run: {progress: maybe}\n",
        (),
        {},
        "<config>:1:17: run.progress: 'maybe' is not one of auto, on, off",
        id="progress",
    ),
    pytest.param(
        "run: {ledger: ''}\n",
        (),
        {},
        "<config>:1:15: run.ledger: expected text, got '' (text)",
        id="ledger_empty",
    ),
    pytest.param(
        ("run:\n  speed: 0\n  mode: x\n  zz: 1\n"),
        (),
        {},
        (
            "<config>:2:10: run.speed: expected a number more than 0, got 0\n"
            "<config>:3:9: run.mode: 'x' is not one of replay, paced, live\n"
            "<config>:4:3: run.zz: unknown key 'zz' (expected one of mode, speed, grace, "
            "on_plugin_error, progress, market_view, stale_after, ledger)"
        ),
        id="several_in_one_section",
    ),
    pytest.param(
        "session: {timezone: America/New_Yrok}\n",
        (),
        {},
        (
            "<config>:1:21: session.timezone: 'America/New_Yrok' is not a time zone name (IANA, "
            "e.g. 'America/New_York'); did you mean 'America/New_York'?"
        ),
        id="timezone",
    ),
    pytest.param(
        "session: {anchor: 930}\n",
        (),
        {},
        (
            "<config>:1:19: session.anchor: anchor '930' is not understood: expected 'session' or "
            "a time such as '09:30'"
        ),
        id="anchor_number",
    ),
    pytest.param(
        "session: {anchor: '25:00'}\n",
        (),
        {},
        (
            "<config>:1:19: session.anchor: anchor '25:00' is not understood: expected 'session' "
            "or a time such as '09:30'"
        ),
        id="anchor_bad_time",
    ),
    pytest.param(
        "session: {calendar: CME Globex Equty}\n",
        (),
        {},
        (
            "<config>:1:21: session.calendar: 'CME Globex Equty' is not a pandas_market_calendars "
            "calendar (e.g. 'CME Globex Equity', 'CME Globex Fixed Income', 'NYSE'); did you mean "
            "'CME Globex Equity'?"
        ),
        id="calendar",
    ),
    pytest.param(
        "bars: {primary: 7x}\n",
        (),
        {},
        (
            "<config>:1:17: bars.primary: bar size '7x' is not understood: expected a number and a "
            "unit such as '30s', '1min', '5min', '1h' or '1d'"
        ),
        id="bar_size",
    ),
    pytest.param(
        "bars: {primary: 5}\n",
        (),
        {},
        (
            "<config>:1:17: bars.primary: expected a bar size such as '1min', '5min' or '1h', got "
            "5 (a number)"
        ),
        id="bar_size_number",
    ),
    pytest.param(
        "bars: {fill: maybe}\n",
        (),
        {},
        "<config>:1:14: bars.fill: expected true or false, got 'maybe' (text)",
        id="fill",
    ),
    pytest.param(
        "risk: {budget: -1}\n",
        (),
        {},
        "<config>:1:16: risk.budget: expected a number more than 0, got -1",
        id="budget",
    ),
    pytest.param(
        "risk: {max_trades: 1.5}\n",
        (),
        {},
        (
            "<config>:1:20: risk.max_trades: expected a whole number of 1 or more, got 1.5 (a "
            "number)"
        ),
        id="max_trades",
    ),
    pytest.param(
        "risk: {max_contracts: 0}\n",
        (),
        {},
        "<config>:1:23: risk.max_contracts: expected a whole number of 1 or more, got 0",
        id="max_contracts",
    ),
    pytest.param(
        "risk: {micro_fallback: 'no'}\n",
        (),
        {},
        "<config>:1:24: risk.micro_fallback: expected true or false, got 'no' (text)",
        id="micro_fallback",
    ),
    pytest.param(
        "plugins: {local: [x.txt]}\n",
        (),
        {},
        "<config>:1:19: plugins.local[0]: expected a .py file, got 'x.txt'",
        id="local_not_py",
    ),
    pytest.param(
        "plugins: {local: [/nonexistent/p.py]}\n",
        (),
        {},
        (
            "<config>:1:19: plugins.local[0]: plugin file not found: /nonexistent/p.py (relative "
            "paths are read from the config file's folder)"
        ),
        id="local_missing",
    ),
    pytest.param(
        "plugins: {local: [x.py, 1]}\n",
        (),
        {},
        "<config>:1:25: plugins.local[1]: expected text, got 1 (a number)",
        id="local_item",
    ),
    pytest.param(
        "plugins: {disable: 5}\n",
        (),
        {},
        "<config>:1:20: plugins.disable: expected a list, got 5 (a number)",
        id="disable_not_list",
    ),
    pytest.param(
        "rn: {mode: paced}\n",
        (),
        {},
        (
            "<config>:1:1: rn: unknown section 'rn' (expected one of run, session, bars, risk, "
            "group, instruments, sources, indicators, setups, outputs, plugins); did you mean "
            "'run'?"
        ),
        id="unknown_section",
    ),
    pytest.param(
        "- run\n",
        (),
        {},
        (
            "<config>:1:1: expected a mapping of sections (run, session, bars, risk, group, "
            "instruments, sources, indicators, setups, outputs, plugins) at the top, got a list"
        ),
        id="top_level_list",
    ),
    pytest.param(
        "instruments: {}\n",
        (),
        {},
        "<config>:1:14: instruments: no instruments are configured",
        id="no_instruments",
    ),
    pytest.param(
        "instruments: [ES]\n",
        (),
        {},
        "<config>:1:14: instruments: expected a mapping of symbol: settings, got a list",
        id="instruments_list",
    ),
    pytest.param(
        ("instruments: {FOO: {}}\ngroup: [FOO]\n"),
        (),
        {},
        (
            "<config>:1:15: instruments.FOO: 'FOO' is not in the contract table, so give its "
            "`root:` (one of ES, NQ, RTY, YM, MES, MNQ, M2K, MYM, ZN, ZB, $TICK, $ADD, NDX)"
        ),
        id="symbol_not_in_table",
    ),
    pytest.param(
        ("instruments: {ES: {root: XX}}\ngroup: [ES]\n"),
        (),
        {},
        (
            "<config>:1:26: instruments.ES.root: unknown instrument root 'XX': expected one of ES, "
            "NQ, RTY, YM, MES, MNQ, M2K, MYM, ZN, ZB, $TICK, $ADD, NDX"
        ),
        id="bad_root",
    ),
    pytest.param(
        ("instruments: {ES: {root: null}}\ngroup: [ES]\n"),
        (),
        {},
        (
            "<config>:1:26: instruments.ES.root: expected an instrument root such as 'ES', got "
            "nothing (null)"
        ),
        id="null_root",
    ),
    pytest.param(
        ("instruments: {ES: {contract: 13-25}}\ngroup: [ES]\n"),
        (),
        {},
        (
            "<config>:1:30: instruments.ES.contract: expected 'continuous' or a contract month as "
            "MM-YY such as '12-25', got '13-25'"
        ),
        id="bad_contract",
    ),
    pytest.param(
        "instruments: {ES: {}, $TICK: {contract: 12-25}}\n",
        (),
        {},
        (
            "<config>:1:41: instruments.$TICK.contract: $TICK is an index; it has no contract "
            "months, use 'continuous'"
        ),
        id="contract_of_index",
    ),
    pytest.param(
        ("instruments: {ES: {contract: 11-25}}\ngroup: [ES]\n"),
        (),
        {},
        (
            "<config>:1:30: instruments.ES.contract: ES lists quarterly contracts only (months 03, "
            "06, 09, 12 = H, M, U, Z), got month 11"
        ),
        id="contract_not_quarterly",
    ),
    pytest.param(
        ("instruments: {ES: {tick: 0}}\ngroup: [ES]\n"),
        (),
        {},
        "<config>:1:26: instruments.ES.tick: expected a number more than 0, got 0",
        id="tick",
    ),
    pytest.param(
        ("instruments: {ES: {tick_size: 1}}\ngroup: [ES]\n"),
        (),
        {},
        (
            "<config>:1:20: instruments.ES.tick_size: unknown key 'tick_size' (expected one of "
            "root, contract, feed_symbol, calendar, point_value, tick, as); did you mean 'tick'?"
        ),
        id="instrument_unknown_key",
    ),
    pytest.param(
        ("instruments: {ES: 5}\ngroup: [ES]\n"),
        (),
        {},
        (
            "<config>:1:19: instruments.ES: expected a mapping of instrument settings, got 5 (a "
            "number)"
        ),
        id="instrument_not_mapping",
    ),
    pytest.param(
        ("instruments: {FOO: {tick: 0}}\ngroup: [FOO]\n"),
        (),
        {},
        (
            "<config>:1:15: instruments.FOO: 'FOO' is not in the contract table, so give its "
            "`root:` (one of ES, NQ, RTY, YM, MES, MNQ, M2K, MYM, ZN, ZB, $TICK, $ADD, NDX)\n"
            "<config>:1:27: instruments.FOO.tick: expected a number more than 0, got 0"
        ),
        id="bad_field_and_root",
    ),
    pytest.param(
        ("instruments: {ES: {tick: 0, contract: 11-25}}\ngroup: [ES]\n"),
        (),
        {},
        (
            "<config>:1:26: instruments.ES.tick: expected a number more than 0, got 0\n"
            "<config>:1:39: instruments.ES.contract: ES lists quarterly contracts only (months 03, "
            "06, 09, 12 = H, M, U, Z), got month 11"
        ),
        id="bad_field_and_contract",
    ),
    pytest.param(
        ("instruments: {1: {}, ES: {}}\ngroup: [ES]\n"),
        (),
        {},
        "<config>:1:15: instruments[1]: an instrument symbol must be text, got 1 (a number)",
        id="symbol_not_text",
    ),
    pytest.param(
        ("instruments: {ES: {}, MES: {as: ES}}\ngroup: [ES]\n"),
        (),
        {},
        ("<config>:1:33: instruments.MES.as: MES cannot stand in for ES: ES is configured itself"),
        id="stand_in_configured",
    ),
    pytest.param(
        ("instruments: {MES: {as: ES}, ES2: {root: ES, as: ES}}\ngroup: [ES]\n"),
        (),
        {},
        "<config>:1:50: instruments.ES2.as: MES already stands in for ES",
        id="two_stand_ins",
    ),
    pytest.param(
        ("instruments: {ES: {}, NQ: {}}\ngroup: [ES, NQQ]\n"),
        (),
        {},
        (
            "<config>:2:13: group[1]: 'NQQ' is not a configured instrument (configured: ES, NQ); "
            "did you mean 'NQ'?"
        ),
        id="group_unknown",
    ),
    pytest.param(
        "instruments: {ES: {}, NQ: {}}\n",
        (),
        {},
        (
            "<config>:1:1: group[2]: 'RTY' is not a configured instrument (configured: ES, NQ) (no "
            "`group:` is given, so the default group ES, NQ, RTY, YM is used)\n"
            "<config>:1:1: group[3]: 'YM' is not a configured instrument (configured: ES, NQ) (no "
            "`group:` is given, so the default group ES, NQ, RTY, YM is used)"
        ),
        id="group_default_unknown",
    ),
    pytest.param(
        ("instruments: {ES: {}, NQ: {}}\ngroup: [ES, ES]\n"),
        (),
        {},
        "<config>:2:13: group[1]: 'ES' is in the group twice",
        id="group_twice",
    ),
    pytest.param(
        ("instruments: {ES: {}, $TICK: {}}\ngroup: [ES, $TICK]\n"),
        (),
        {},
        "<config>:2:13: group[1]: '$TICK' is an index; the group is built from futures",
        id="group_index",
    ),
    pytest.param(
        ("instruments: {ES: {}}\ngroup: []\n"),
        (),
        {},
        "<config>:2:8: group: the group is empty: name at least one configured instrument",
        id="group_empty",
    ),
    pytest.param(
        "group: 5\n",
        (),
        {},
        "<config>:1:8: group: expected a list, got 5 (a number)",
        id="group_not_list",
    ),
    pytest.param(
        "group: [ES, 1]\n",
        (),
        {},
        "<config>:1:13: group[1]: expected text, got 1 (a number)",
        id="group_item",
    ),
    pytest.param(
        "sources: {1: {}}\n",
        (),
        {},
        "<config>:1:11: sources[1]: a plugin name must be text, got 1 (a number)",
        id="plugin_name_not_text",
    ),
    pytest.param(
        "sources: {sim: 5}\n",
        (),
        {},
        (
            "<config>:1:16: sources.sim: expected a mapping of settings for source 'sim', got 5 (a "
            "number)"
        ),
        id="plugin_settings_not_mapping",
    ),
    pytest.param(
        "sources: 5\n",
        (),
        {},
        "<config>:1:10: sources: expected a mapping of plugin name: settings, got 5 (a number)",
        id="plugin_section_not_mapping",
    ),
    pytest.param(
        "sources: [sim, 1]\n",
        (),
        {},
        "<config>:1:16: sources[1]: expected text, got 1 (a number)",
        id="plugin_list_item",
    ),
    pytest.param(
        ("run:\n  mode: paced\n  mode: live\n"),
        (),
        {},
        (
            "<config>:3:3: run.mode: duplicate key 'mode' (first given at line 2); YAML would "
            "silently keep only the last one"
        ),
        id="duplicate_key",
    ),
    pytest.param(
        ("run:\n  mode: [paced\n"),
        (),
        {},
        (
            "<config>:3:1: YAML syntax error: expected ',' or ']', but got '<stream end>' (while "
            "parsing a flow sequence at line 2, column 9)"
        ),
        id="syntax",
    ),
    pytest.param(
        "run: {ledger: '${1X}'}\n",
        (),
        {},
        (
            "<config>:1:15: run.ledger: bad variable reference '${1X}': expected ${NAME} or "
            "${NAME:-default}"
        ),
        id="bad_variable",
    ),
    pytest.param(
        "run: {ledger: '${LEDGER}'}\n",
        (),
        {},
        (
            "<config>:1:15: run.ledger: environment variable LEDGER is not set (write "
            "${LEDGER:-default} to give a default)\n"
            "<config>:1:15: run.ledger: expected text, got '' (text)"
        ),
        id="unset_variable",
    ),
    pytest.param(
        "run: {mode: '${MODE}'}\n",
        (),
        {"MODE": "secretvalue"},
        "<config>:1:13: run.mode: '${MODE}' is not one of replay, paced, live",
        id="env_value_hidden",
    ),
    pytest.param(
        "run: {speed: '${SPEED}'}\n",
        (),
        {"SPEED": "fast"},
        "<config>:1:14: run.speed: expected a number more than 0, got '${SPEED}' (text)",
        id="env_text_not_number",
    ),
    pytest.param(
        "sources: {sim: {start: 2024-13-01}}\n",
        (),
        {},
        (
            "<config>:1:24: sources.sim.start: '2024-13-01' is not a valid date (month must be in "
            "1..12)"
        ),
        id="bad_date",
    ),
    pytest.param(
        "{}\n",
        ("run.mdoe=paced",),
        {},
        "--set run.mdoe=<hidden>: run.mdoe: unknown key 'mdoe' in run; did you mean 'mode'?",
        id="override_unknown_key",
    ),
    pytest.param(
        "{}\n",
        ("run.mode=fastest",),
        {},
        "--set run.mode=<hidden>: run.mode: '<hidden>' is not one of replay, paced, live",
        id="override_bad_value",
    ),
    pytest.param(
        "{}\n",
        ("bogus=1",),
        {},
        "--set bogus=<hidden>: bogus: unknown section 'bogus'; did you mean 'sources'?",
        id="override_unknown_section",
    ),
    pytest.param(
        "{}\n",
        ("noequals",),
        {},
        "--set <hidden>: expected key.path=value, e.g. run.mode=paced",
        id="override_no_equals",
    ),
    pytest.param(
        "{}\n",
        ("group.x=1",),
        {},
        (
            "<config>:1:1: group: expected a list, got a mapping\n"
            "--set group.x=<hidden>: group.x: group is a list of symbols; set it whole, e.g. "
            "group=[ES,NQ,RTY,YM]"
        ),
        id="override_group_key",
    ),
    pytest.param(
        "{}\n",
        ("instruments.FOO.root=ES",),
        {},
        (
            "--set instruments.FOO.root=<hidden>: instruments.FOO.root: no instrument 'FOO' is "
            "configured"
        ),
        id="override_no_instrument",
    ),
    pytest.param(
        "{}\n",
        ("instruments.ES.bogus=1",),
        {},
        (
            "--set instruments.ES.bogus=<hidden>: instruments.ES.bogus: unknown key 'bogus' in "
            "instruments.ES"
        ),
        id="override_instrument_key",
    ),
    pytest.param(
        "{}\n",
        ("include=x.yaml",),
        {},
        (
            "--set include=<hidden>: include: include is read from the YAML file only; write it in "
            "the file"
        ),
        id="override_include",
    ),
    pytest.param(
        "{}\n",
        ("run.mode.x=1",),
        {},
        (
            "--set run.mode.x=<hidden>: run.mode.x: run.mode is a single value; it has no keys "
            "below it"
        ),
        id="override_below_value",
    ),
    pytest.param(
        "{}\n",
        ("sources.sim.seed=7",),
        {},
        "--set sources.sim.seed=<hidden>: sources.sim.seed: no source 'sim' is configured",
        id="override_no_component",
    ),
    pytest.param(
        "{}\n",
        ("run.mode=[x",),
        {},
        (
            "--set run.mode=<hidden>: run.mode: the value is not valid YAML: expected ',' or ']', "
            "but got '<stream end>'"
        ),
        id="override_bad_yaml",
    ),
    pytest.param(
        "run: {speed: 0}\n",
        ("run.mode=fastest", "risk.budget=0"),
        {},
        (
            "<config>:1:14: run.speed: expected a number more than 0, got 0\n"
            "--set run.mode=<hidden>: run.mode: '<hidden>' is not one of replay, paced, live\n"
            "--set risk.budget=<hidden>: risk.budget: expected a number more than 0, got 0"
        ),
        id="override_and_file",
    ),
]

DATA_CASES = [
    pytest.param(
        {"run": {"speed": 0, "mode": "x", "zz": 1}, "risk": {"budget": 0}},
        (
            "run.speed: expected a number more than 0, got 0\n"
            "run.mode: 'x' is not one of replay, paced, live\n"
            "run.zz: unknown key 'zz' (expected one of mode, speed, grace, on_plugin_error, "
            "progress, market_view, stale_after, ledger)\n"
            "risk.budget: expected a number more than 0, got 0"
        ),
        id="from_dict_several",
    ),
    pytest.param(
        {"instruments": {"ES": {"tick": -1, "as": 5}, "FOO": None}, "group": ["ES"]},
        (
            "instruments.ES.tick: expected a number more than 0, got -1\n"
            "instruments.ES.as: expected text, got 5 (a number)\n"
            "instruments.FOO: 'FOO' is not in the contract table, so give its `root:` (one of ES, "
            "NQ, RTY, YM, MES, MNQ, M2K, MYM, ZN, ZB, $TICK, $ADD, NDX)"
        ),
        id="from_dict_instruments",
    ),
]


@pytest.mark.parametrize(("text", "overrides", "env", "expected"), CASES)
def test_a_bad_yaml_config_is_reported_in_these_words(text, overrides, env, expected):
    with pytest.raises(ConfigError) as info:
        load_config(text, overrides=overrides, env=env)
    assert str(info.value) == expected
    assert len(info.value.errors) == expected.count("\n") + 1  # every problem at once


@pytest.mark.parametrize(("data", "expected"), DATA_CASES)
def test_bad_data_is_reported_in_these_words_without_positions(data, expected):
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    assert str(info.value) == expected
    assert all(e.line is None for e in info.value.errors)
