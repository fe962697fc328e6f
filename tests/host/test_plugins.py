"""Plugin manager and registries: entry points, local files, the disable list,
misspelled hooks, tracing, duplicate and unknown component names."""

import importlib
import textwrap
from importlib.metadata import entry_points

import pytest
from conftest import et_ns

from rsengine import hookimpl
from rsengine.config import Config, ConfigError, load_config
from rsengine.host.plugins import PluginLoadError, collect_registries, make_plugin_manager
from rsengine.host.registry import Registry, RegistryError
from rsengine.host.runner import build_engine

FIRST_PARTY = {
    "sim": ("sources", "sim"),
    "csv": ("sources", "csv"),
    "rs": ("indicators", "rs"),
    "log": ("outputs", "log"),
    "record": ("outputs", "record"),
}

DOUBLER = """\
import rsengine


class Doubler:
    columns = ("double",)

    def __init__(self, settings, context):
        self.factor = settings.get("factor", 2.0)

    def update(self, slice, state):
        return {"double": slice.close * self.factor}


@rsengine.hookimpl
def rsengine_register_indicators(registry):
    registry.add("double", Doubler, "close times two")
"""


def write_plugin(tmp_path, name: str, source: str):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def source_plugin(component: str) -> str:
    return f"""\
import rsengine


@rsengine.hookimpl
def rsengine_register_sources(registry):
    registry.add({component!r}, lambda settings, context: None, "nothing")
"""


# --- first-party plugins come through the entry-point group ----------------------


@pytest.mark.parametrize("name", sorted(FIRST_PARTY))
def test_first_party_plugin_is_declared_in_the_rsengine_entry_point_group(name):
    eps = {ep.name: ep for ep in entry_points(group="rsengine")}
    assert name in eps
    assert eps[name].value == f"rsengine_{name}"


@pytest.mark.parametrize("name", sorted(FIRST_PARTY))
def test_plugin_manager_registers_first_party_plugin_under_its_entry_point_name(name):
    ep = {ep.name: ep for ep in entry_points(group="rsengine")}[name]
    pm = make_plugin_manager()
    assert pm.get_plugin(name) is importlib.import_module(ep.value)
    # pluggy records the distribution only for plugins it loaded from entry points
    assert name in {pm.get_name(plugin) for plugin, _ in pm.list_plugin_distinfo()}


def test_without_entry_points_no_first_party_plugin_is_registered():
    pm = make_plugin_manager(entry_points=False)
    assert not set(FIRST_PARTY) & {name for name, _ in pm.list_name_plugin()}
    assert all(not r.names() for r in collect_registries(pm).values())


@pytest.mark.parametrize("name", sorted(FIRST_PARTY))
def test_registry_remembers_the_first_party_plugin_that_added_each_component(name):
    kind, component = FIRST_PARTY[name]
    registries = collect_registries(make_plugin_manager())
    assert registries[kind].get(component).plugin == name


# --- local plugin files ---------------------------------------------------------------


def test_local_plugin_file_is_registered_under_its_file_stem(tmp_path):
    pm = make_plugin_manager(local_files=[write_plugin(tmp_path, "doubler", DOUBLER)])
    assert pm.get_plugin("doubler") is not None


def test_local_plugin_file_provides_a_working_component(tmp_path):
    pm = make_plugin_manager(local_files=[write_plugin(tmp_path, "doubler", DOUBLER)])
    entry = collect_registries(pm)["indicators"].get("double")
    assert entry.plugin == "doubler"
    assert entry.description == "close times two"

    class FakeSlice:
        close = 21.0

    indicator = entry.factory({"factor": 3.0}, None)
    assert indicator.columns == ("double",)
    assert indicator.update(FakeSlice(), None) == {"double": 63.0}


def test_missing_local_plugin_file_fails_with_plugin_load_error(tmp_path):
    with pytest.raises(PluginLoadError, match="not found"):
        make_plugin_manager(local_files=[tmp_path / "nowhere.py"], entry_points=False)


def test_local_plugin_file_that_fails_to_import_names_the_file(tmp_path):
    path = write_plugin(tmp_path, "broken", "raise ImportError('needs foo')\n")
    with pytest.raises(PluginLoadError, match="broken.py") as info:
        make_plugin_manager(local_files=[path], entry_points=False)
    assert "needs foo" in str(info.value)


# --- plugins.disable --------------------------------------------------------------------


def test_disable_blocks_an_installed_plugin_and_its_components():
    pm = make_plugin_manager(disable=["csv"])
    assert pm.get_plugin("csv") is None
    sources = collect_registries(pm)["sources"].names()
    assert "csv" not in sources
    assert "sim" in sources  # only the disabled one is gone


def test_disable_blocks_a_local_plugin_file_and_its_components(tmp_path):
    path = write_plugin(tmp_path, "doubler", DOUBLER)
    pm = make_plugin_manager(local_files=[path], disable=["doubler"], entry_points=False)
    assert pm.get_plugin("doubler") is None
    assert "double" not in collect_registries(pm)["indicators"].names()


def test_component_of_a_plugin_disabled_in_the_config_is_unknown():
    config = load_config("sources: {csv: {}}\nplugins: {disable: [csv]}\n", env={})
    with pytest.raises(ConfigError, match="no source plugin named 'csv'"):
        build_engine(config)


def test_disabled_local_plugin_file_is_not_imported(tmp_path):
    path = write_plugin(tmp_path, "broken", "raise ImportError('needs foo')\n")
    pm = make_plugin_manager(local_files=[path], disable=["broken"], entry_points=False)
    assert pm.get_plugin("broken") is None


# --- misspelled hooks -------------------------------------------------------------------


def test_misspelled_hook_in_local_file_fails_at_start_up_naming_it(tmp_path):
    path = write_plugin(
        tmp_path,
        "typo",
        """\
        import rsengine


        @rsengine.hookimpl
        def rsengine_slice_close(engine, slice, values):
            pass
        """,
    )
    with pytest.raises(PluginLoadError, match="rsengine_slice_close"):
        make_plugin_manager(local_files=[path])


def test_correctly_spelled_hook_in_local_file_loads(tmp_path):
    path = write_plugin(
        tmp_path,
        "spelled",
        """\
        import rsengine


        @rsengine.hookimpl
        def rsengine_slice_closed(engine, slice, values):
            pass
        """,
    )
    pm = make_plugin_manager(local_files=[path])
    assert pm.get_plugin("spelled") in [
        i.plugin for i in pm.hook.rsengine_slice_closed.get_hookimpls()
    ]


def test_misspelled_hook_argument_in_local_file_fails_with_plugin_load_error(tmp_path):
    path = write_plugin(
        tmp_path,
        "badarg",
        """\
        import rsengine


        @rsengine.hookimpl
        def rsengine_slice_closed(engine, slice, vals):
            pass
        """,
    )
    with pytest.raises(PluginLoadError, match="vals"):
        make_plugin_manager(local_files=[path])


def test_wrapper_hookimpl_in_local_file_is_refused_at_start_up(tmp_path):
    path = write_plugin(
        tmp_path,
        "wrapping",
        """\
        import rsengine


        @rsengine.hookimpl(wrapper=True)
        def rsengine_session_start(engine, session):
            return (yield)
        """,
    )
    with pytest.raises(PluginLoadError, match="'wrapping'") as info:
        make_plugin_manager(local_files=[path], entry_points=False)
    assert "rsengine_session_start" in str(info.value)


# --- RSENGINE_TRACE_PLUGINS -------------------------------------------------------------


def test_trace_env_writes_registration_calls_to_stderr(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("RSENGINE_TRACE_PLUGINS", "1")
    pm = make_plugin_manager(local_files=[write_plugin(tmp_path, "doubler", DOUBLER)])
    collect_registries(pm)
    out, err = capfd.readouterr()
    assert "[plugins] rsengine_register_indicators -> doubler" in err
    assert "[plugins] rsengine_register_sources -> sim" in err
    assert "[plugins]" not in out  # stdout stays free for output


def test_trace_env_writes_each_engine_hook_call_to_stderr(rsengine_harness, monkeypatch, capfd):
    class Traced:
        __name__ = "traced"

        @hookimpl
        def rsengine_configure(self, config):
            pass

        @hookimpl
        def rsengine_session_start(self, session):
            pass

        @hookimpl
        def rsengine_run_finished(self, summary):
            pass

    monkeypatch.setenv("RSENGINE_TRACE_PLUGINS", "1")
    start = et_ns("2025-03-04 10:00")
    trades = [(start + k * 10**9, 5000.0, 1.0) for k in range(0, 900, 3)]  # 3 bars
    run = rsengine_harness.run(
        {"instruments": {"ES": {}, "NQ": {}}, "group": ["ES", "NQ"]},
        trades={"ES": trades},
        plugins=[Traced()],
    )
    err = capfd.readouterr().err
    assert len(run.slices) == 3
    assert err.count("[plugins] rsengine_slice_closed -> rsengine-testing\n") == 3
    for hook in ("rsengine_configure", "rsengine_session_start", "rsengine_run_finished"):
        assert err.count(f"[plugins] {hook} -> traced\n") == 1


def test_no_trace_without_the_env_variable(tmp_path, monkeypatch, capfd):
    monkeypatch.delenv("RSENGINE_TRACE_PLUGINS", raising=False)
    collect_registries(make_plugin_manager(local_files=[write_plugin(tmp_path, "d", DOUBLER)]))
    assert "[plugins]" not in capfd.readouterr().err


def test_trace_env_zero_means_off(monkeypatch, capfd):
    monkeypatch.setenv("RSENGINE_TRACE_PLUGINS", "0")
    collect_registries(make_plugin_manager())
    assert "[plugins]" not in capfd.readouterr().err


# --- duplicate and unknown names ----------------------------------------------------------


def test_registry_rejects_a_duplicate_name_naming_both_plugins():
    registry = Registry("sources")
    registry.current_plugin = "first_plugin"
    registry.add("feed", object)
    registry.current_plugin = "second_plugin"
    with pytest.raises(RegistryError, match="source 'feed'") as info:
        registry.add("feed", object)
    assert "'first_plugin'" in str(info.value) and "'second_plugin'" in str(info.value)
    assert registry.get("feed").plugin == "first_plugin"  # the first one stays


def test_two_plugin_files_claiming_one_source_name_fail_naming_both(tmp_path):
    pm = make_plugin_manager(
        local_files=[
            write_plugin(tmp_path, "alpha_feed", source_plugin("feed")),
            write_plugin(tmp_path, "beta_feed", source_plugin("feed")),
        ],
        entry_points=False,
    )
    with pytest.raises(RegistryError) as info:
        collect_registries(pm)
    assert "'alpha_feed'" in str(info.value) and "'beta_feed'" in str(info.value)
    assert "plugins.disable" in str(info.value)  # says how to resolve it


def test_local_plugin_reusing_a_first_party_name_fails_naming_both(tmp_path):
    pm = make_plugin_manager(local_files=[write_plugin(tmp_path, "my_sim", source_plugin("sim"))])
    with pytest.raises(RegistryError) as info:
        collect_registries(pm)
    assert "'my_sim'" in str(info.value) and "'sim'" in str(info.value)


def test_unknown_component_is_a_config_error_listing_installed_ones_with_a_suggestion():
    config = load_config("sources:\n  simm: {seed: 1}\n", env={})
    with pytest.raises(ConfigError) as info:
        build_engine(config)
    error = info.value
    assert (error.line, error.column, error.key_path) == (2, 3, "sources.simm")
    assert "installed: basket, csv, ib, rithmic, sim" in error.message  # every source plugin
    assert "did you mean 'sim'?" in error.message


def test_unknown_components_of_every_section_are_reported_together():
    config = Config.from_dict(
        {"sources": {"sim": {}}, "indicators": {"rss": {}}, "outputs": {"recod": {}}}
    )
    with pytest.raises(ConfigError) as info:
        build_engine(config)
    messages = [e.message for e in info.value.errors]
    assert any("'rss'" in m and "did you mean 'rs'?" in m for m in messages)
    assert any("'recod'" in m and "did you mean 'record'?" in m for m in messages)


def test_registry_get_of_an_unknown_name_lists_installed_and_suggests():
    registries = collect_registries(make_plugin_manager())
    with pytest.raises(RegistryError, match=r"no output named 'recrd'; did you mean 'record'\?"):
        registries["outputs"].get("recrd")
