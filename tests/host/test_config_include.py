"""Top-level ``include:``: files merged under the including file's keys,
errors at the included file's own path:line:column, cycles refused, and
``rsengine validate`` reading it all."""

import textwrap

import pytest

from rsengine.config import Config, ConfigError, load_config

BASE = """\
run: {mode: replay, speed: 30}
bars: {primary: 5min}
sources:
  sim: {seed: 3}
indicators:
  rs: {}
setups:
  context: {spread: 0.3, min_norm: 0.5}
"""


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(path, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **kwargs)
    return [e._line() for e in caught.value.errors]


def test_the_including_file_wins_and_mappings_merge_key_by_key(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    top = write(
        tmp_path,
        "top.yaml",
        """\
        include: base.yaml
        run: {mode: paced}
        setups:
          context: {spread: 0.45}
        """,
    )
    config = load_config(top)
    assert config.run.mode == "paced"  # the including file's
    assert config.run.speed == 30  # the included file's, not written on top
    assert config.setups["context"].settings == {"spread": 0.45, "min_norm": 0.5}
    assert config.sources["sim"].settings == {"seed": 3}
    assert config.file == str(top)


def test_later_includes_win_over_earlier_ones_and_lists_are_replaced(tmp_path):
    write(tmp_path, "base.yaml", BASE + "group: [ES, NQ, RTY, YM]\n")
    write(
        tmp_path,
        "frag/thresholds.yaml",
        """\
        setups:
          context: {spread: 0.61}
          strength_rider: {min_lead: 0.25}
        group: [ES, NQ]
        """,
    )
    top = write(tmp_path, "top.yaml", "include: [base.yaml, frag/thresholds.yaml]\n")
    config = load_config(top)
    assert config.setups["context"].settings == {"spread": 0.61, "min_norm": 0.5}
    assert config.setups["strength_rider"].settings == {"min_lead": 0.25}
    assert config.group == ("ES", "NQ")


def test_a_list_of_names_merges_with_a_mapping(tmp_path):
    write(tmp_path, "frag.yaml", "setups:\n  context: {spread: 0.4}\n")
    top = write(
        tmp_path,
        "top.yaml",
        """\
        include: [frag.yaml]
        sources: {sim: {}}
        indicators: [rs]
        setups: [context, strength_rider]
        """,
    )
    config = load_config(top)
    assert config.setups["context"].settings == {"spread": 0.4}
    assert list(config.setups) == ["context", "strength_rider"]


def test_nested_includes_are_read_from_each_files_own_folder(tmp_path):
    write(tmp_path, "a/inner/deep.yaml", "run: {speed: 7}\n")
    write(tmp_path, "a/middle.yaml", "include: inner/deep.yaml\nbars: {primary: 1min}\n")
    top = write(tmp_path, "top.yaml", "include: a/middle.yaml\n")
    config = load_config(top)
    assert (config.run.speed, config.bars.primary) == (7, "1min")


def test_an_error_in_an_included_file_is_reported_at_its_own_position(tmp_path):
    write(tmp_path, "sub/bad.yaml", "run:\n  mode: pacd\nbars: {primery: 5min}\n")
    top = write(tmp_path, "top.yaml", "include: [sub/bad.yaml]\nrun: {speed: 2}\n")
    shown = str(tmp_path / "sub" / "bad.yaml")
    lines = errors_of(top)
    assert lines == [
        f"{shown}:2:9: run.mode: 'pacd' is not one of replay, paced, live; did you mean 'paced'?",
        f"{shown}:3:8: bars.primery: unknown key 'primery' (expected one of primary, fill); "
        "did you mean 'primary'?",
    ]


def test_a_plugin_setting_from_an_included_file_points_into_that_file(tmp_path):
    write(tmp_path, "frag.yaml", "setups:\n  context:\n    spread: -1\n")
    top = write(tmp_path, "top.yaml", "include: frag.yaml\n" + BASE)
    config = load_config(top)
    # the including file wrote context's min_norm, the fragment nothing it overrides
    assert config.setups["context"].settings == {"spread": 0.3, "min_norm": 0.5}
    write(tmp_path, "top2.yaml", "include: [top.yaml, frag.yaml]\n")
    config = load_config(tmp_path / "top2.yaml")
    where = config.setups["context"].location("spread")
    assert (where.file, where.line, where.column) == (str(tmp_path / "frag.yaml"), 3, 13)
    err = config.setups["context"].error("spread", "must be > 0")
    assert str(err) == f"{tmp_path / 'frag.yaml'}:3:13: setups.context.spread: must be > 0"


def test_a_yaml_syntax_error_in_an_included_file_names_that_file(tmp_path):
    write(tmp_path, "broken.yaml", "run: {mode: replay\n")
    top = write(tmp_path, "top.yaml", "include: broken.yaml\n")
    (line,) = errors_of(top)
    assert line.startswith(f"{tmp_path / 'broken.yaml'}:2:1: YAML syntax error")


@pytest.mark.parametrize(
    "files, message",
    [
        ({"top.yaml": "include: top.yaml\n"}, "include cycle: top.yaml -> top.yaml"),
        (
            {"top.yaml": "include: [b.yaml]\n", "b.yaml": "include: [top.yaml]\n"},
            "include cycle: top.yaml -> b.yaml -> top.yaml",
        ),
    ],
)
def test_an_include_cycle_is_refused_clearly(tmp_path, files, message):
    for name, text in files.items():
        write(tmp_path, name, text)
    (line,) = errors_of(tmp_path / "top.yaml")
    assert message in line
    assert "a file cannot include itself" in line


def test_a_file_included_twice_without_a_cycle_is_fine(tmp_path):
    write(tmp_path, "common.yaml", "run: {speed: 9}\n")
    write(tmp_path, "a.yaml", "include: common.yaml\n")
    write(tmp_path, "b.yaml", "include: common.yaml\nbars: {primary: 15min}\n")
    config = load_config(write(tmp_path, "top.yaml", "include: [a.yaml, b.yaml]\n"))
    assert (config.run.speed, config.bars.primary) == (9, "15min")


def test_a_missing_or_malformed_include_is_an_error_at_its_item(tmp_path):
    top = write(tmp_path, "top.yaml", "run: {mode: replay}\ninclude: [x.yaml, 5]\n")
    lines = errors_of(top)
    assert any(line.startswith(f"{top}:2:10: include: expected a file path") for line in lines)
    missing = [line for line in lines if "included file not found" in line]
    assert missing == [
        f"{top}:2:11: include[0]: included file not found: {tmp_path / 'x.yaml'} "
        "(relative paths are read from the including file's folder)"
    ]


def test_an_included_file_must_hold_sections(tmp_path):
    write(tmp_path, "list.yaml", "- a\n- b\n")
    (line,) = errors_of(write(tmp_path, "top.yaml", "include: list.yaml\n"))
    where = f"{tmp_path / 'list.yaml'}:1:1"
    assert line == f"{where}: an included file must be a mapping of sections, got a list"


def test_environment_variables_are_replaced_in_included_files(tmp_path):
    write(tmp_path, "frag.yaml", "run: {speed: '${SPEED}'}\n")
    top = write(tmp_path, "top.yaml", "include: frag.yaml\n")
    assert load_config(top, env={"SPEED": "45"}).run.speed == 45
    line = errors_of(top, env={})[0]
    assert line.startswith(f"{tmp_path / 'frag.yaml'}:1:14: run.speed: environment variable SPEED")


def test_local_plugins_of_an_included_file_are_read_from_its_folder(tmp_path):
    write(tmp_path, "lib/mine.py", "X = 1\n")
    write(tmp_path, "lib/plugins.yaml", "plugins: {local: [mine.py]}\n")
    config = load_config(write(tmp_path, "top.yaml", "include: lib/plugins.yaml\n"))
    assert config.plugins.local == (str((tmp_path / "lib" / "mine.py").resolve()),)


def test_overrides_apply_after_the_merge_and_cannot_set_include(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    top = write(tmp_path, "top.yaml", "include: base.yaml\n")
    config = load_config(top, overrides=["setups.context.spread=0.9"])
    assert config.setups["context"].settings["spread"] == 0.9
    (line,) = errors_of(top, overrides=["include=other.yaml"])
    assert line == (
        "--set include=<hidden>: include: include is read from the YAML file only; "
        "write it in the file"
    )


def test_from_dict_reads_includes_from_its_base_dir(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    config = Config.from_dict({"include": ["base.yaml"], "run": {"speed": 5}}, base_dir=tmp_path)
    assert (config.run.mode, config.run.speed) == ("replay", 5)


def test_validate_reads_includes(tmp_path, monkeypatch, capsys):
    from rsengine.app.cli import main

    monkeypatch.chdir(tmp_path)
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "frag.yaml", "setups:\n  context: {spread: 0.5}\n")
    write(tmp_path, "top.yaml", "include: [base.yaml, frag.yaml]\n")
    assert main(["validate", "top.yaml"]) == 0
    assert capsys.readouterr().out.strip() == "top.yaml: ok"
    write(tmp_path, "frag.yaml", "setups:\n  context: {spread: -2}\n")
    assert main(["validate", "top.yaml"]) == 2
    assert capsys.readouterr().err.startswith(
        "rsengine: frag.yaml:2:3: setups.context: setup 'context' refused its settings: "
        "spread must be a number > 0, got -2"
    )
