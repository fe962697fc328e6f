"""YAML config: loading, every error path, env variables and --set overrides."""

import textwrap

import pytest

from rsengine.config import (
    ComponentConfig,
    Config,
    ConfigError,
    InstrumentConfig,
    Location,
    RunConfig,
    check_component_names,
    error_at,
    load_config,
    not_one_of,
    parse_duration,
)

GOOD = """\
run:
  mode: paced
  speed: 120
  grace: 500ms
session:
  timezone: America/New_York
  anchor: "09:30"
bars:
  primary: 15min
  fill: true
group: [ES, NQ, RTY, YM]
instruments:
  ES: {}
  NQ: {contract: "12-25"}
  RTY: {}
  YM: {}
  $TICK: {feed_symbol: TICK-NYSE}
sources:
  sim: {seed: 7}
indicators: {rs: {}}
setups: {}
outputs: {log: {}, record: {dir: out/demo}}
plugins:
  local: []
  disable: [webhook]
"""


def load(text, **kw):
    kw.setdefault("env", {})
    return load_config(textwrap.dedent(text), **kw)


def problems(text, **kw):
    """Each reported problem as (line, column, key_path, message)."""
    with pytest.raises(ConfigError) as info:
        load(text, **kw)
    return [(e.line, e.column, e.key_path, e.message) for e in info.value.errors]


def only_problem(text, **kw):
    found = problems(text, **kw)
    assert len(found) == 1, found
    return found[0]


# --- loading what is right ------------------------------------------------------------


def test_empty_config_gives_the_documented_defaults():
    c = load("")
    assert (c.run.mode, c.run.speed, c.run.grace, c.run.grace_ns) == (
        "replay",
        60.0,
        "2s",
        2 * 10**9,
    )
    assert (c.run.on_plugin_error, c.run.progress, c.run.market_view) == ("stop", "auto", "off")
    assert (c.session.timezone, c.session.anchor, c.session.anchor_time) == (
        "America/New_York",
        "session",
        None,
    )
    assert (c.bars.primary, c.bars.primary_ns, c.bars.fill) == ("5min", 300 * 10**9, False)
    assert c.group == ("ES", "NQ", "RTY", "YM")
    assert c.symbols == ("ES", "NQ", "RTY", "YM")
    assert (c.sources, c.indicators, c.setups, c.outputs) == ({}, {}, {}, {})
    assert (c.plugins.local, c.plugins.disable) == ((), ())


def test_session_calendar_defaults_to_the_first_group_members_table_calendar():
    assert load("").session.calendar == "CME Globex Equity"
    c = load("group: [ZN, ZB]\ninstruments: {ZN: {}, ZB: {}}\n")
    assert c.session.calendar == "CME Globex Fixed Income"


def test_a_full_config_loads_every_value():
    c = load(GOOD)
    assert (c.run.mode, c.run.speed, c.run.grace_ns) == ("paced", 120.0, 500 * 10**6)
    assert c.session.anchor_time.isoformat() == "09:30:00"
    assert (c.bars.primary_ns, c.bars.fill) == (900 * 10**9, True)
    assert c.symbols == ("ES", "NQ", "RTY", "YM", "$TICK")
    assert c.instruments["NQ"].contract == "12-25"
    assert c.instruments["$TICK"].feed_symbol == "TICK-NYSE"
    assert c.sources["sim"].settings == {"seed": 7}
    assert c.outputs["record"].settings == {"dir": "out/demo"}
    assert c.plugins.disable == ("webhook",)


def test_instrument_settings_default_from_the_contract_table():
    c = load("group: [ES, NQ]\ninstruments: {ES: {}, NQ: {}, MES: {}, $TICK: {}}\n")
    mes, tick = c.instruments["MES"], c.instruments["$TICK"]
    assert (mes.root, mes.point_value, mes.tick, mes.feed_symbol) == ("MES", 5.0, 0.25, "MES")
    assert (mes.calendar, mes.contract) == ("CME Globex Equity", "continuous")
    assert (tick.point_value, tick.tick, tick.calendar, tick.feed_symbol) == (
        None,
        1.0,
        "NYSE",
        "$TICK",
    )


def test_instrument_overrides_root_point_value_tick_and_calendar():
    c = load("""\
        group: [ES, NQ]
        instruments:
          ES: {}
          NQ: {}
          ES_cash: {root: ES, point_value: 10, tick: 0.5, calendar: CME_Equity}
        """)
    inst = c.instruments["ES_cash"]
    assert (inst.root, inst.point_value, inst.tick, inst.calendar) == (
        "ES",
        10.0,
        0.5,
        "CME_Equity",
    )


def test_fixed_contract_month_gives_the_ninjatrader_name():
    c = load(GOOD)
    assert c.instruments["NQ"].ninjatrader_name() == "NQ 12-25"
    assert c.instruments["NQ"].contract_month == (2025, 12)


def test_continuous_instrument_names_the_front_month_of_a_day():
    import datetime as dt

    es = load("").instruments["ES"]
    assert es.ninjatrader_name(dt.date(2025, 12, 19)) == "ES 03-26"
    with pytest.raises(ValueError, match="continuous"):
        es.ninjatrader_name()


def test_a_micro_stands_in_for_a_group_member_with_as():
    c = load("""\
        instruments:
          MES: {as: ES}
          MNQ: {as: NQ}
          M2K: {as: RTY}
          MYM: {as: YM}
        """)
    assert c.group == ("ES", "NQ", "RTY", "YM")
    assert c.group_symbols == ("MES", "MNQ", "M2K", "MYM")
    assert c.instrument("NQ").symbol == "MNQ"
    assert c.instruments["MES"].stands_for == "ES"


@pytest.mark.parametrize(("written", "kept"), [("off", "off"), ("on", "on"), ("auto", "auto")])
def test_progress_on_and_off_survive_yaml_reading_them_as_booleans(written, kept):
    assert load(f"run: {{progress: {written}}}").run.progress == kept


def test_market_view_off_survives_yaml_reading_it_as_false():
    assert load("run:\n  market_view: off\n").run.market_view == "off"


@pytest.mark.parametrize(
    ("written", "anchor"),
    [("10:00", "10:00"), ("9:30", "09:30"), ('"09:30"', "09:30"), ("session", "session")],
)
def test_anchor_time_is_read_even_when_yaml_takes_it_for_a_base60_number(written, anchor):
    assert load(f"session:\n  anchor: {written}\n").session.anchor == anchor


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("500ms", 5 * 10**8),
        ("2s", 2 * 10**9),
        ("1min", 60 * 10**9),
        ("1.5s", 1_500_000_000),
        (3, 3 * 10**9),
        ("0s", 0),
    ],
)
def test_parse_duration_reads_units_and_bare_seconds(text, ns):
    assert parse_duration(text) == ns


def test_component_sections_accept_a_list_of_names():
    c = load("setups: [strength_rider, divergence_fade]\n")
    assert list(c.setups) == ["strength_rider", "divergence_fade"]
    assert c.setups["strength_rider"].settings == {}


def test_null_component_settings_become_an_empty_mapping():
    assert load("outputs:\n  log:\n").outputs["log"].settings == {}


def test_yaml_anchors_and_merge_keys_work_as_in_safe_load():
    c = load("""\
        sources:
          a: &base {seed: 1, speed: 2}
          b:
            <<: *base
            seed: 3
        """)
    assert c.sources["b"].settings == {"seed": 3, "speed": 2}


def test_load_config_reads_a_file_and_names_it_in_errors(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "demo.yaml").write_text("run:\n  mode: pacd\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("configs/demo.yaml", env={})
    assert str(info.value).startswith("configs/demo.yaml:2:9: run.mode: 'pacd' is not one of")
    assert info.value.file == "configs/demo.yaml"


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_local_plugin_paths_are_resolved_from_the_yaml_files_folder(tmp_path):
    (tmp_path / "my_setup.py").write_text("")
    (tmp_path / "c.yaml").write_text("plugins:\n  local: [my_setup.py]\n")
    c = load_config(tmp_path / "c.yaml", env={})
    assert c.plugins.local == (str((tmp_path / "my_setup.py").resolve()),)
    assert c.base_dir == str(tmp_path.resolve())


def test_missing_local_plugin_file_is_an_error_at_its_list_item(tmp_path):
    (tmp_path / "c.yaml").write_text("plugins:\n  local:\n    - ok.py\n    - gone.py\n")
    (tmp_path / "ok.py").write_text("")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "c.yaml", env={})
    e = info.value
    assert (e.line, e.column, e.key_path) == (4, 7, "plugins.local[1]")
    assert "plugin file not found" in e.message


def test_from_dict_checks_like_yaml_without_positions():
    c = Config.from_dict(
        {"run": {"mode": "live"}, "group": ["ES", "NQ"], "instruments": {"ES": {}, "NQ": None}}
    )
    assert (c.run.mode, c.symbols) == ("live", ("ES", "NQ"))
    with pytest.raises(ConfigError) as info:
        Config.from_dict({"run": {"mode": "pacd"}})
    assert str(info.value).startswith("run.mode: 'pacd' is not one of replay, paced, live")
    assert info.value.line is None


def test_default_config_object_matches_an_empty_yaml_config():
    assert Config().run == load("").run
    assert Config().instruments == load("").instruments


def test_config_classes_validate_when_built_directly():
    with pytest.raises(ValueError, match="'fast' is not one of"):
        RunConfig(mode="fast")


# --- YAML-level errors ----------------------------------------------------------------


def test_yaml_syntax_error_reports_pyyaml_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("run:\n  mode: replay\n  speed: [1, 2\nbars: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    e = info.value
    assert (e.file, e.line, e.column) == (str(path), 4, 5)
    assert str(e).startswith(f"{path}:4:5: YAML syntax error: expected ',' or ']'")
    assert "at line 3, column 10" in str(e)


def test_tab_indentation_is_a_syntax_error_with_position():
    line, column, _, message = only_problem("run:\n\tmode: replay\n")
    assert (line, column) == (2, 1) and "YAML syntax error" in message


def test_duplicate_key_is_an_error_naming_the_first_line():
    line, column, path, message = only_problem("""\
        run:
          mode: replay
          speed: 2
          mode: paced
        """)
    assert (line, column, path) == (4, 3, "run.mode")
    assert "duplicate key 'mode' (first given at line 2)" in message


def test_duplicate_top_level_section_is_an_error():
    line, _, path, message = only_problem("bars: {}\nrun: {}\nbars: {fill: true}\n")
    assert (line, path) == (3, "bars") and "duplicate key 'bars'" in message


def test_top_level_that_is_not_a_mapping_is_an_error():
    _, _, _, message = only_problem("- ES\n- NQ\n")
    assert message.startswith("expected a mapping of sections")


# --- schema errors ----------------------------------------------------------------------


def test_unknown_top_level_key_is_named_with_a_suggestion():
    line, column, path, message = only_problem("run: {}\ninstrument: {}\n")
    assert (line, column, path) == (2, 1, "instrument")
    assert message.startswith("unknown section 'instrument'")
    assert message.endswith("did you mean 'instruments'?")


def test_unknown_nested_key_points_at_the_key_and_suggests():
    line, column, path, message = only_problem("run:\n  mode: replay\n  sped: 3\n")
    assert (line, column, path) == (3, 3, "run.sped")
    assert message.startswith("unknown key 'sped'") and message.endswith("did you mean 'speed'?")


def test_unknown_instrument_key_suggests_the_closest():
    _, _, path, message = only_problem(
        "instruments:\n  ES: {contrat: 12-25}\n  NQ: {}\n  RTY: {}\n  YM: {}\n"
    )
    assert path == "instruments.ES.contrat" and message.endswith("did you mean 'contract'?")


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        ("run: {speed: fast}", "run.speed", "expected a number more than 0, got 'fast' (text)"),
        ("run: {speed: 0}", "run.speed", "expected a number more than 0, got 0"),
        ("run: {speed: true}", "run.speed", "expected a number more than 0, got true (a boolean)"),
        ("bars: {fill: maybe}", "bars.fill", "expected true or false, got 'maybe' (text)"),
        ("group: ES", "group", "expected a list, got 'ES' (text)"),
        ("run: [replay]", "run", "expected a mapping of settings, got a list"),
        ("plugins: {disable: [1]}", "plugins.disable[0]", "expected text, got 1 (a number)"),
    ],
)
def test_wrong_type_says_what_was_expected(text, path, expected):
    assert only_problem(text)[2:] == (path, expected)


def test_bad_enum_value_lists_the_choices_and_suggests():
    line, column, path, message = only_problem("run:\n  mode: pacd\n")
    assert (line, column, path) == (2, 9, "run.mode")
    assert message == "'pacd' is not one of replay, paced, live; did you mean 'paced'?"


def test_market_view_on_is_not_a_valid_choice():
    assert only_problem("run: {market_view: on}")[3] == (
        "expected one of off, session, slice, got true (a boolean)"
    )


def test_bad_duration_is_reported_with_examples():
    _, _, path, message = only_problem("run: {grace: 2 parsecs}")
    assert path == "run.grace"
    assert message == "expected a duration such as '500ms', '2s' or '1min', got '2 parsecs' (text)"


def test_negative_duration_is_rejected():
    assert "0 or more" in only_problem("run: {grace: -1}")[3]


def test_bad_bar_size_is_reported():
    _, _, path, message = only_problem("bars: {primary: 5 fortnights}")
    assert path == "bars.primary" and "bar size '5 fortnights' is not understood" in message


def test_bar_size_as_a_bare_number_is_rejected():
    assert "expected a bar size such as" in only_problem("bars: {primary: 300}")[3]


def test_bad_timezone_suggests_the_closest_zone():
    _, _, path, message = only_problem("session: {timezone: America/NewYork}")
    assert path == "session.timezone"
    assert message.endswith("did you mean 'America/New_York'?")


def test_bad_calendar_suggests_the_closest_calendar():
    _, _, path, message = only_problem("session: {calendar: CME Globex Equities}")
    assert path == "session.calendar" and message.endswith("did you mean 'CME Globex Equity'?")


@pytest.mark.parametrize("anchor", ["25:00", "noon", "'9.30'"])
def test_bad_anchor_is_reported(anchor):
    _, _, path, message = only_problem(f"session: {{anchor: {anchor}}}")
    assert path == "session.anchor" and "expected 'session' or a time such as '09:30'" in message


def test_unknown_instrument_root_suggests_the_closest():
    line, column, path, message = only_problem("""\
        instruments:
          ES: {}
          NQ: {}
          RTY: {root: RTU}
          YM: {}
        """)
    assert (line, column, path) == (4, 15, "instruments.RTY.root")
    assert "unknown instrument root 'RTU'" in message and message.endswith("did you mean 'RTY'?")


def test_symbol_outside_the_table_without_root_asks_for_root():
    line, column, path, message = only_problem(
        "group: [ES, NQ]\ninstruments:\n  ES: {}\n  NQ: {}\n  EZ: {}\n"
    )
    assert (line, column, path) == (5, 3, "instruments.EZ")
    assert "not in the contract table, so give its `root:`" in message
    assert message.endswith("did you mean 'ES'?")


def test_bad_contract_month_format_is_reported():
    _, _, path, message = only_problem(
        "instruments: {ES: {contract: Dec25}, NQ: {}, RTY: {}, YM: {}}"
    )
    assert path == "instruments.ES.contract"
    assert "expected 'continuous' or a contract month as MM-YY" in message


def test_non_quarterly_contract_month_is_reported():
    _, _, path, message = only_problem(
        "instruments: {ES: {contract: 11-25}, NQ: {}, RTY: {}, YM: {}}"
    )
    assert path == "instruments.ES.contract" and "quarterly contracts only" in message


def test_index_with_a_contract_month_is_reported():
    message = only_problem(
        "group: [ES, NQ]\ninstruments: {ES: {}, NQ: {}, $TICK: {contract: 12-25}}"
    )[3]
    assert "$TICK is an index" in message


def test_group_member_not_configured_is_named_with_a_suggestion():
    line, column, path, message = only_problem("""\
        group: [ES, NQ, RTX]
        instruments: {ES: {}, NQ: {}, RTY: {}}
        """)
    assert (line, column, path) == (1, 17, "group[2]")
    assert message == (
        "'RTX' is not a configured instrument (configured: ES, NQ, RTY); did you mean 'RTY'?"
    )


def test_default_group_member_not_configured_explains_the_default():
    message = only_problem("instruments: {ES: {}, NQ: {}, RTY: {}}")[3]
    assert message.startswith("'YM' is not a configured instrument")
    assert "default group ES, NQ, RTY, YM" in message


def test_stand_in_for_a_configured_instrument_is_an_error():
    _, _, path, message = only_problem(
        "group: [ES, NQ]\ninstruments: {ES: {}, NQ: {}, MES: {as: ES}}"
    )
    assert path == "instruments.MES.as" and "ES is configured itself" in message


def test_index_in_the_group_is_an_error():
    message = only_problem("group: [ES, $TICK]\ninstruments: {ES: {}, $TICK: {}}")[3]
    assert message == "'$TICK' is an index; the group is built from futures"


def test_group_member_given_twice_is_an_error():
    _, _, path, message = only_problem("group: [ES, NQ, ES]\ninstruments: {ES: {}, NQ: {}}")
    assert (path, message) == ("group[2]", "'ES' is in the group twice")


def test_an_empty_group_is_an_error():
    message = only_problem("group: []\ninstruments: {ES: {}}")[3]
    assert "the group is empty" in message


def test_component_settings_that_are_not_a_mapping_are_an_error():
    _, _, path, message = only_problem("sources:\n  sim: 7\n")
    assert path == "sources.sim"
    assert message == "expected a mapping of settings for source 'sim', got 7 (a number)"


# --- environment variables ----------------------------------------------------------------


def test_env_variable_replaces_a_string_value():
    c = load("sources:\n  ib:\n    password: ${IB_PASSWORD}\n", env={"IB_PASSWORD": "s3cret"})
    assert c.sources["ib"].settings["password"] == "s3cret"


def test_env_variable_inside_a_longer_string():
    c = load("outputs:\n  record:\n    dir: ${HOME_DIR}/out\n", env={"HOME_DIR": "/data"})
    assert c.outputs["record"].settings["dir"] == "/data/out"


def test_missing_env_variable_is_an_error_naming_key_path_and_variable():
    line, column, path, message = only_problem("sources:\n  ib:\n    password: ${IB_PASSWORD}\n")
    assert (line, column, path) == (3, 15, "sources.ib.password")
    assert message.startswith("environment variable IB_PASSWORD is not set")


def test_env_default_is_used_when_the_variable_is_missing():
    c = load("sources:\n  ib:\n    host: ${IB_HOST:-127.0.0.1}\n")
    assert c.sources["ib"].settings["host"] == "127.0.0.1"


def test_env_default_is_used_when_the_variable_is_empty():
    c = load("sources:\n  ib:\n    host: ${IB_HOST:-127.0.0.1}\n", env={"IB_HOST": ""})
    assert c.sources["ib"].settings["host"] == "127.0.0.1"


def test_env_variable_in_a_numeric_field_is_read_as_a_number():
    assert load("run:\n  speed: ${SPEED}\n", env={"SPEED": "90"}).run.speed == 90.0


def test_env_variable_with_a_bad_value_is_reported_at_its_key():
    _, _, path, message = only_problem("run:\n  speed: ${SPEED}\n", env={"SPEED": "fast"})
    assert path == "run.speed" and "expected a number" in message


def test_double_dollar_writes_a_literal_reference():
    c = load("sources:\n  x:\n    text: $${NOT_A_VAR}\n")
    assert c.sources["x"].settings["text"] == "${NOT_A_VAR}"


def test_env_is_not_applied_to_keys():
    c = load("sources:\n  x:\n    ${KEY}: 1\n", env={"KEY": "k"})
    assert c.sources["x"].settings == {"${KEY}": 1}


SECRET = {"IB_PASSWORD": "s3cret-T0ken"}


@pytest.mark.parametrize(
    "text",
    [
        "run:\n  mode: ${IB_PASSWORD}\n",  # a secret under a key with choices
        "session: ${IB_PASSWORD}\n",  # where a mapping belongs
        "outputs:\n  record: https://x/?key=${IB_PASSWORD}\n",  # inside a longer text
    ],
)
def test_config_error_shows_the_variable_not_the_secret_it_holds(text):
    with pytest.raises(ConfigError) as info:
        load(text, env=SECRET)
    assert "s3cret-T0ken" not in str(info.value)
    assert "${IB_PASSWORD}" in str(info.value)


def test_config_error_from_an_override_shows_the_variable_not_the_secret():
    with pytest.raises(ConfigError) as info:
        load("run: {}\n", env=SECRET, overrides=["run.speed=${IB_PASSWORD}"])
    assert "s3cret-T0ken" not in str(info.value)


def test_a_plugin_refusing_a_setting_from_the_environment_does_not_print_the_secret():
    c = load("sources:\n  ib:\n    pasword: ${IB_PASSWORD}\n", env=SECRET)
    ib = c.sources["ib"]
    error = ib.error("pasword", f"unknown setting with value {ib.settings['pasword']!r}")
    assert str(error).endswith("sources.ib.pasword: unknown setting with value '${IB_PASSWORD}'")


# --- overrides ----------------------------------------------------------------------------


def test_overrides_set_values_at_key_paths():
    c = load(
        GOOD,
        overrides=[
            "run.mode=live",
            "instruments.ES.contract=03-26",
            "sources.sim.seed=8",
            "bars.fill=false",
        ],
    )
    assert c.run.mode == "live"
    assert c.instruments["ES"].contract == "03-26"
    assert c.sources["sim"].settings == {"seed": 8}
    assert c.bars.fill is False


def test_override_values_are_read_as_yaml_flow_values():
    c = load(GOOD, overrides=["group=[ES, NQ]", "outputs.webhook={url: 'http://x'}"])
    assert c.group == ("ES", "NQ")
    assert c.outputs["webhook"].settings == {"url": "http://x"}


def test_override_reads_a_time_anchor_like_the_file_does():
    assert load("", overrides=["session.anchor=10:00"]).session.anchor == "10:00"


def test_override_can_add_an_instrument_to_the_default_set():
    c = load("", overrides=["instruments.MES={}", "instruments.NQ.contract=12-25"])
    assert c.symbols == ("ES", "NQ", "RTY", "YM", "MES")
    assert c.instruments["NQ"].contract == "12-25"


def test_override_with_an_unknown_key_path_says_it_came_from_set_and_suggests():
    with pytest.raises(ConfigError) as info:
        load(GOOD, overrides=["run.mdoe=paced"])
    e = info.value
    assert (e.origin, e.key_path, e.line) == ("--set run.mdoe=<hidden>", "run.mdoe", None)
    assert str(e) == (
        "--set run.mdoe=<hidden>: run.mdoe: unknown key 'mdoe' in run; did you mean 'mode'?"
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("rn.mode=paced", "unknown section 'rn'; did you mean 'run'?"),
        ("instruments.EZ.contract=12-25", "no instrument 'EZ' is configured; did you mean 'ES'?"),
        ("instruments.ES.contrct=12-25", "did you mean 'contract'?"),
        ("sources.simm.seed=3", "no source 'simm' is configured; did you mean 'sim'?"),
        ("run.mode.x=1", "run.mode is a single value; it has no keys below it"),
        ("run", "expected key.path=value, e.g. run.mode=paced"),
    ],
)
def test_override_to_an_unknown_place_is_an_error(override, expected):
    message = str(pytest.raises(ConfigError, load, GOOD, overrides=[override]).value)
    key = override.split("=")[0] + "=<hidden>" if "=" in override else "<hidden>"
    assert message.startswith(f"--set {key}: ") and message.endswith(expected)


def test_override_with_invalid_yaml_value_is_an_error():
    e = pytest.raises(ConfigError, load, GOOD, overrides=["group=[ES, NQ"]).value
    assert e.key_path == "group" and e.message.startswith("the value is not valid YAML")


def test_override_with_a_bad_value_is_reported_as_coming_from_set():
    e = pytest.raises(ConfigError, load, GOOD, overrides=["run.mode=pacd"]).value
    assert str(e) == (
        "--set run.mode=<hidden>: run.mode: '<hidden>' is not one of replay, paced, "
        "live; did you mean 'paced'?"
    )


def test_override_replaces_a_bad_file_value():
    assert load("run: {mode: pacd}", overrides=["run.mode=paced"]).run.mode == "paced"


# --- several errors -------------------------------------------------------------------------


def test_several_errors_are_reported_together_in_file_order():
    text = """\
        run:
          mode: pacd
          speeed: 3
        session:
          timezone: Mars/Olympus
        group: [ES, NQ, RTX, YM]
        instruments:
          ES: {}
          NQ: {contract: 11-25}
          RTY: {}
          YM: {}
        indicators:
          rs:
            prior_close: ${PRIOR}
        colours: 3
        """
    with pytest.raises(ConfigError) as info:
        load(text, overrides=["bars.primery=1min"])
    found = [(e.line, e.key_path) for e in info.value.errors]
    assert found == [
        (2, "run.mode"),
        (3, "run.speeed"),
        (5, "session.timezone"),
        (6, "group[2]"),
        (9, "instruments.NQ.contract"),
        (14, "indicators.rs.prior_close"),
        (15, "colours"),
        (None, "bars.primery"),
    ]
    lines = str(info.value).splitlines()
    assert len(lines) == 8
    assert lines[0].startswith("<config>:2:9: run.mode: 'pacd'")
    assert lines[-1].startswith("--set bars.primery=<hidden>: bars.primery: unknown key")
    assert (info.value.line, info.value.key_path) == (2, "run.mode")


def test_bad_instrument_key_and_bad_root_in_one_entry_are_both_reported():
    found = problems(
        "group: [ES, NQ]\ninstruments:\n  ES: {}\n  NQ: {}\n  XX: {root: EZ, tik: 1}\n"
    )
    assert [p[2] for p in found] == ["instruments.XX.root", "instruments.XX.tik"]


# --- components ------------------------------------------------------------------------------

COMPONENTS = """\
sources:
  sim: {seed: 7}
indicators:
  rs:
    prior_close: setlement
    atr:
      length: 14
"""


def test_component_remembers_where_its_name_and_settings_are(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(COMPONENTS)
    rs = load_config(path, env={}).indicators["rs"]
    assert isinstance(rs, ComponentConfig)
    assert (rs.section, rs.name, rs.where.line, rs.where.column) == ("indicators", "rs", 4, 3)
    assert rs.location("prior_close") == Location(str(path), 5, 18)
    assert rs.location("atr.length").line == 7


def test_error_at_points_a_plugin_error_at_the_settings_line(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(COMPONENTS)
    rs = load_config(path, env={}).indicators["rs"]
    choices = ["settlement", "rth_last", "globex_close"]
    err = error_at(rs, "prior_close", not_one_of("setlement", choices, "or a number"))
    assert str(err) == (
        f"{path}:5:18: indicators.rs.prior_close: 'setlement' is not one of settlement, "
        f"rth_last, globex_close or a number; did you mean 'settlement'?"
    )
    assert (err.line, err.key_path) == (5, "indicators.rs.prior_close")


def test_error_at_a_missing_setting_points_at_the_component_name():
    rs = load(COMPONENTS).indicators["rs"]
    err = rs.error("window", "a window is required")
    assert (err.line, err.column, err.key_path) == (4, 3, "indicators.rs.window")


def test_check_component_names_names_the_unknown_plugin_and_lists_installed():
    c = load("sources: {simm: {}}\noutputs: {log: {}, recrod: {}}\n")
    available = {"sources": ["csv", "sim"], "outputs": ["log", "record"], "indicators": []}
    with pytest.raises(ConfigError) as info:
        check_component_names(c, available)
    assert [str(e) for e in info.value.errors] == [
        "<config>:1:11: sources.simm: no source plugin named 'simm' (installed: csv, sim); "
        "did you mean 'sim'?",
        "<config>:2:20: outputs.recrod: no output plugin named 'recrod' (installed: log, "
        "record); did you mean 'record'?",
    ]


def test_check_component_names_passes_when_all_are_installed():
    c = load("sources: {sim: {}}\nindicators: {rs: {}}\n")
    check_component_names(c, {"sources": ["sim"], "indicators": ["rs"]})


def test_check_component_names_says_none_are_installed():
    c = load("setups: {rider: {}}\n")
    with pytest.raises(ConfigError, match=r"no setup plugin named 'rider' \(installed: none\)"):
        check_component_names(c, {})


def test_instrument_config_for_symbol_fills_the_table_defaults():
    inst = InstrumentConfig.for_symbol("MNQ")
    assert (inst.point_value, inst.tick, inst.calendar, inst.feed_symbol) == (
        2.0,
        0.25,
        "CME Globex Equity",
        "MNQ",
    )
