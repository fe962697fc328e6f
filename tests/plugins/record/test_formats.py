"""The record output's two formats: ``bars.csv`` holds exactly the cells the
per-cell rules give (checked against a plain csv.writer rendering of the same
batches, by each of its three renderers), and the Parquet folder holds the
same values, typed, one partition per month of sessions."""

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import structlog
from rsengine_record import csv_arrow, csv_text, default_format, read_bars, writers
from rsengine_record.table import batch_rows

import rsengine
from rsengine.config import Config, ConfigError, load_config
from rsengine.core import SliceBatch
from rsengine.host.runner import build_engine, plugin_manager_for

pytest.importorskip("pyarrow")

EVERY_MEASURE = {"rs": {}, "measures": {}, "group": {}, "ratios": {}, "regime": {}}
SIM = {
    "run": {"mode": "replay"},
    "sources": {"sim": {"seed": 11, "days": 3}},
    "indicators": EVERY_MEASURE,
    "setups": {"context": {}},
}
BAR_COLUMNS = ["ts_open", "ts_close", "symbol", "open", "high", "low", "close", "volume"]


class Capture:
    """An output keeping every batch and its values, as the recorder got them."""

    seen: list = []

    def __init__(self, settings, context):
        self.columns = tuple(context.columns)

    def on_batch(self, batch, values):
        Capture.seen.append((batch, {k: np.array(v) for k, v in values.items()}))

    def on_signal(self, signal):
        pass

    def close(self, summary):
        pass


class CapturePlugin:
    @rsengine.hookimpl
    def rsengine_register_outputs(self, registry):
        registry.add("capture", Capture, "keeps the batches")


def run(tree, out, fmt, capture=False):
    tree = {**tree, "outputs": {"record": {"dir": str(out), "format": fmt}}}
    if capture:
        tree["outputs"]["capture"] = {}
    engine = run_config(Config.from_dict(tree), capture)
    return engine, engine.summary


def run_config(config, capture=False):
    pm = plugin_manager_for(config)
    if capture:
        Capture.seen = []
        pm.register(CapturePlugin(), name="capture-plugin")
    engine = build_engine(config, pm=pm)
    engine.run()
    return engine


# -- the CSV: the cells of the per-cell rules, a batch at a time -----------------


def cell(x) -> str:
    """One cell as the record's CSV rules say, the slow and obvious way."""
    if x is None:
        return ""
    if isinstance(x, bool | np.bool_):
        return "1" if x else "0"
    if isinstance(x, float | np.floating):
        return "" if x != x else repr(float(x))
    return str(x)


def iso(ts: int) -> str:
    seconds, fraction = divmod(int(ts), 10**9)
    text = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction:09d}Z" if fraction else f"{text}Z"


def flags_text(f: int) -> str:
    return "|".join(name for bit, name in ((1, "partial"), (2, "filled")) if f & bit)


def expected_csv(captured, columns) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*BAR_COLUMNS, "trades", "flags", *columns])
    for batch, values in captured:
        for j, i in zip(*np.nonzero(batch.present), strict=True):
            row = [iso(batch.ts_open[j, i]), iso(batch.ts_close[j]), batch.symbols[i]]
            row += [cell(getattr(batch, name)[j, i]) for name in BAR_COLUMNS[3:]]
            row += [str(batch.trades[j, i]), flags_text(int(batch.flags[j, i]))]
            row += [cell(values[c][j, i]) if c in values else "" for c in columns]
            writer.writerow(row)
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    out = tmp_path_factory.mktemp("csv")
    engine, _ = run(SIM, out, "csv", capture=True)
    (recorder,) = [o for name, _, o in engine.outputs if name == "record"]
    return out, recorder.columns, Capture.seen


def test_bars_csv_is_the_csv_writer_rendering_of_every_cell(sim_csv):
    out, columns, captured = sim_csv
    assert (out / "bars.csv").read_bytes() == expected_csv(captured, columns)


def test_without_pyarrow_or_orjson_the_csv_bytes_are_the_same(sim_csv, monkeypatch):
    _, columns, captured = sim_csv
    rows = [(batch_rows(b, v, columns), b.symbols) for b, v in captured]
    arrow = csv_arrow.ArrowText(captured[0][0].symbols, columns)
    by_arrow = [bytes(arrow.text(r)) for r, _ in rows]
    fast = [csv_text.batch_text(r, symbols, columns) for r, symbols in rows]
    monkeypatch.setattr(csv_text, "orjson", None)
    assert not csv_arrow.available()
    slow = [csv_text.batch_text(r, symbols, columns) for r, symbols in rows]
    assert by_arrow == fast == slow


def odd_batch():
    """Two slices of two instruments, one bar missing, with the values the
    fast path hands to repr: infinities, tiny and huge floats, -0.0."""
    present = np.array([[True, True], [True, False]])
    prices = np.array([[5000.25, 1e-5], [np.inf, 0.0]])
    ts = np.array([1_700_000_000_000_000_000, 1_700_000_060_000_000_001])
    batch = SliceBatch(
        ("ES", "N,Q"),
        ts,
        present,
        np.stack([ts - 60 * 10**9] * 2, axis=1),
        prices,
        np.array([[-0.0, 1e17], [2.5e-5, 1.0]]),
        np.array([[-np.inf, 123456789.123], [1 / 3, 2.0]]),
        np.array([[np.nan, 5e-324], [1e16, 9999999999999998.0]]),
        np.array([[1.0, 2.0], [3.0, 4.0]]),
        prices,
        np.array([[1, 2], [3, 4]], dtype=np.int64),
        np.array([[0, 3], [1, 2]], dtype=np.uint8),
    )
    values = {
        "text": np.array([['say "hi"', None], ["a,b", "line\nbreak"]], dtype=object),
        "flag": np.array([[True, False], [False, True]]),
        "count": np.array([[2**40, 0], [-5, 7]], dtype=np.int64),
        "small": np.array([[1.5e-7, np.nan], [0.0001, -1e-4]], dtype=np.float32),
        "mixed": np.array([[1, 2.5], [None, "x"]], dtype=object),
    }
    return batch, values


@pytest.mark.parametrize("renderer", ["arrow", "orjson", "repr"])
@pytest.mark.parametrize("last", ["absent", "size"], ids=["missing-last", "float-last"])
def test_odd_values_and_quoted_text_come_out_as_the_csv_writer_writes_them(
    renderer, last, monkeypatch
):
    if renderer == "repr":
        monkeypatch.setattr(csv_text, "orjson", None)
    batch, values = odd_batch()
    values["size"] = np.array([[np.nan, 1.5], [2.0, np.nan]])  # NaN in the last column
    columns = (*(c for c in values if c != last), last)
    rows = batch_rows(batch, values, columns)
    got = csv_text.header(columns) + b"\n"
    if renderer == "arrow":
        got += bytes(csv_arrow.ArrowText(batch.symbols, columns).text(rows))
    else:
        got += csv_text.batch_text(rows, batch.symbols, columns)
    assert got == expected_csv([(batch, values)], columns)


# -- Parquet: the same values, typed, a partition per month of sessions ----------


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    folders = {}
    for fmt in ("parquet", "csv"):
        out = tmp_path_factory.mktemp(fmt)
        _, summary = run(SIM, out, fmt)
        folders[fmt] = out
    return folders, summary


def session_dates(ts_close: pd.Series) -> pd.Series:
    """Globex session of a bar: closes after 18:00 ET belong to the next day."""
    local = ts_close.dt.tz_convert("America/New_York")
    day = local.dt.normalize().dt.tz_localize(None)
    return (day + pd.to_timedelta((local.dt.hour >= 18).astype(int), unit="D")).dt.strftime(
        "%Y-%m-%d"
    )


def assert_same_values(parquet_folder, csv_file):
    """Every column of the Parquet record equals the CSV's, NaN-aware."""
    parquet = pd.read_parquet(parquet_folder)
    text = pd.read_csv(csv_file, keep_default_na=False, na_values=[""], low_memory=False)
    assert list(parquet.columns) == [*text.columns, "session_date", "session_month"]
    assert (parquet["session_date"].astype(str) == session_dates(parquet["ts_close"])).all()
    assert len(parquet) == len(text) > 1000
    for name in text.columns:
        got, want = parquet[name], text[name]
        if name.startswith("ts_"):
            assert str(got.dtype) == "datetime64[ns, UTC]"
            want = pd.to_datetime(want, utc=True).astype(got.dtype)
        elif got.dtype == bool:
            want = want.astype(bool)
        elif got.dtype.kind in "fi":
            assert got.dtype == want.dtype or want.isna().all(), name
            want = want.astype(got.dtype)
        else:  # text: CSV leaves None and "" both empty
            got, want = (s.astype(object).where(s.notna(), "").astype(str) for s in (got, want))
        pd.testing.assert_series_equal(got, want, check_names=False, obj=name)


def test_parquet_and_csv_hold_the_same_values_column_by_column(both):
    folders, _ = both
    assert_same_values(folders["parquet"] / "bars", folders["csv"] / "bars.csv")


def test_read_bars_gives_the_same_frame_from_either_format(both):
    folders, _ = both
    parquet, text = read_bars(folders["parquet"]), read_bars(folders["csv"])
    assert list(parquet.columns) == list(text.columns) and len(parquet) == len(text) > 1000
    for name in text.columns:
        got, want = parquet[name], text[name]
        if got.dtype == bool:  # the CSV's 1/0
            assert set(want.unique()) <= {0, 1}
            want = want.astype(bool)
        if got.dtype.kind in "fiM":
            assert got.dtype == want.dtype, name
        else:
            got, want = (s.astype(object).where(s.notna(), "").astype(str) for s in (got, want))
        pd.testing.assert_series_equal(got, want, check_names=False, obj=name)


def test_read_bars_names_the_folder_without_a_record(tmp_path):
    with pytest.raises(FileNotFoundError, match="no bars/ .Parquet. or bars.csv"):
        read_bars(tmp_path)


@pytest.mark.realdata
def test_real_micros_record_the_same_values_in_both_formats(shared_data, tmp_path):
    """Four weeks of the 5-minute micros with every measure, over a month's
    end: the CSV is the per-cell rendering of what the recorder got, the
    Parquet the same values."""
    for fmt in ("csv", "parquet"):
        config = load_config(
            Path(__file__).parents[3] / "configs" / "replay-micros.yaml",
            overrides=[
                "sources.csv.start=2024-02-19",
                "sources.csv.end=2024-03-15",
                f"outputs={{record: {{dir: '{tmp_path / fmt}', format: {fmt}}}, capture: {{}}}}",
            ],
            env={"RSENGINE_DATA_DIR": str(shared_data)},
        )
        engine = run_config(config, capture=True)
    (recorder,) = [o for name, _, o in engine.outputs if name == "record"]
    bars_csv = tmp_path / "csv" / "bars.csv"
    assert bars_csv.read_bytes() == expected_csv(Capture.seen, recorder.columns)
    assert_same_values(tmp_path / "parquet" / "bars", bars_csv)
    parts = sorted(p.name for p in (tmp_path / "parquet" / "bars").iterdir())
    assert parts == ["session_month=2024-02", "session_month=2024-03"]


def test_parquet_types_are_the_values_own(both):
    folders, _ = both
    frame = pd.read_parquet(folders["parquet"] / "bars")
    kinds = {name: frame[name].dtype.kind for name in frame.columns}
    assert {kinds[c] for c in ("open", "high", "low", "close", "volume")} == {"f"}
    assert kinds["trades"] == "i"
    assert kinds["vol_expanding"] == "b" and kinds["persist15"] == "i"
    assert kinds["rsi"] == "f" and frame["rsi"].isna().any()  # NaN kept, as NaN
    assert frame["regime"].map(type).eq(str).all() and frame["regime"].nunique() > 1


def test_one_partition_per_month_holding_its_sessions_bars(tmp_path):
    _, summary = run({**SIM, "sources": {"sim": {"seed": 11, "days": 25}}}, tmp_path, "parquet")
    bars = tmp_path / "bars"
    parts = sorted(p.name for p in bars.iterdir())
    frame = pd.read_parquet(bars)
    dates = session_dates(frame["ts_close"])
    assert (frame["session_date"].astype(str) == dates).all()
    assert dates.nunique() == summary.sessions == 25
    assert len(parts) >= 2 and parts == [f"session_month={m}" for m in sorted(set(dates.str[:7]))]
    for part in parts:
        assert [p.name for p in (bars / part).iterdir()] == ["part-0.parquet"]
        month = pd.read_parquet(bars / part / "part-0.parquet")
        assert (month["session_date"].astype(str).str[:7] == part[-7:]).all()


def test_parquet_files_are_byte_identical_from_run_to_run(both, tmp_path):
    folders, _ = both
    run(SIM, tmp_path, "parquet")

    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    first, second = files(folders["parquet"]), files(tmp_path)
    assert first == second and any(p.suffix == ".parquet" for p in first)


def test_a_months_file_does_not_depend_on_how_its_bars_came_in_batches(sim_csv, tmp_path):
    _, columns, captured = sim_csv
    batches = [batch_rows(b, v, columns) for b, v in captured]

    def write(folder, cut):
        folder.mkdir()
        bars = writers.ParquetBars(captured[0][0].symbols, columns, "America/New_York")
        bars.open(folder)
        for rows in batches:
            for lo in range(0, len(rows["ts_close"]), cut):
                bars.write({k: None if v is None else v[lo : lo + cut] for k, v in rows.items()})
        bars.close()
        return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}

    whole, by_three = write(tmp_path / "whole", 10**9), write(tmp_path / "three", 3)
    assert whole == by_three and len(whole) == len({d.month for d in sim_dates(captured)})


def sim_dates(captured) -> set:
    ts = np.concatenate([b.ts_close for b, _ in captured])
    return set(pd.to_datetime(session_dates(pd.Series(pd.to_datetime(ts, utc=True)))))


def test_the_signal_journal_is_the_same_in_either_format(both):
    folders, _ = both
    journal = (folders["parquet"] / "signals.jsonl").read_bytes()
    assert journal == (folders["csv"] / "signals.jsonl").read_bytes() and journal


def test_run_json_names_the_format(both):
    import json

    folders, _ = both
    for fmt, out in folders.items():
        assert json.loads((out / "run.json").read_text())["format"] == fmt


def test_a_run_in_the_other_format_replaces_the_previous_bars(tmp_path):
    run(SIM, tmp_path, "csv")
    run(SIM, tmp_path, "parquet")
    assert not (tmp_path / "bars.csv").exists() and (tmp_path / "bars").is_dir()
    run(SIM, tmp_path, "csv")
    assert not (tmp_path / "bars").exists() and (tmp_path / "bars.csv").is_file()


def test_a_failed_parquet_rerun_leaves_the_previous_folder_as_it_was(tmp_path):
    run(SIM, tmp_path, "parquet")
    before = {p: p.read_bytes() for p in sorted((tmp_path / "bars").rglob("*")) if p.is_file()}

    class Boom:
        columns = ("boom",)

        def __init__(self, settings, context):
            pass

        def update_batch(self, batch, state):
            raise RuntimeError("indicator broke")

    class Plugin:
        @rsengine.hookimpl
        def rsengine_register_indicators(self, registry):
            registry.add("boom", Boom, "breaks")

    tree = {**SIM, "indicators": {**EVERY_MEASURE, "boom": {}}}
    tree["run"] = {"mode": "replay", "on_plugin_error": "stop"}
    tree["outputs"] = {"record": {"dir": str(tmp_path), "format": "parquet"}}
    config = Config.from_dict(tree)
    pm = plugin_manager_for(config)
    pm.register(Plugin(), name="boom-plugin")
    with pytest.raises(Exception, match="indicator broke"):
        build_engine(config, pm=pm).run()
    after = {p: p.read_bytes() for p in sorted((tmp_path / "bars").rglob("*")) if p.is_file()}
    assert after == before


def test_the_documented_pandas_line_reads_the_record_back(both):
    folders, _ = both
    frame = pd.read_parquet(folders["parquet"] / "bars")  # docs/record.md
    assert frame["session_date"].nunique() == 3 and {"ES", "NQ"} <= set(frame["symbol"])


def test_polars_and_duckdb_read_the_folder_when_installed(both):
    """The documented one-liners (docs/record.md) give pandas' rows and values."""
    folders, _ = both
    bars = folders["parquet"] / "bars"
    expected = pd.read_parquet(bars)
    frames = {}
    if _importable("polars"):
        import polars as pl

        frames["polars"] = pl.read_parquet(f"{bars}/**/*.parquet", hive_partitioning=True)
        frames["polars"] = frames["polars"].to_pandas()
    if _importable("duckdb"):
        import duckdb

        query = f"SELECT * FROM read_parquet('{bars}/*/*.parquet', hive_partitioning=true)"
        frames["duckdb"] = duckdb.sql(query).df()
    if not frames:
        pytest.skip("neither polars nor duckdb is installed")
    for reader, frame in frames.items():
        assert len(frame) == len(expected), reader
        for name in ("ts_close", "symbol", "close", "rsi", "rank", "vol_expanding"):
            got, want = frame[name], expected[name]
            if name == "ts_close":
                got = pd.to_datetime(got, utc=True).astype(want.dtype)
            assert got.astype(object).tolist() == want.astype(object).tolist() or (
                name == "rsi" and np.allclose(got, want, equal_nan=True, rtol=0, atol=0)
            ), (reader, name)
        assert sorted(frame["session_month"].astype(str).unique()) == sorted(
            expected["session_month"].astype(str).unique()
        )


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


# -- the format setting ----------------------------------------------------------


def test_parquet_is_the_default_where_pyarrow_is_installed(tmp_path):
    tree = {**SIM, "outputs": {"record": {"dir": str(tmp_path)}}}
    build_engine(Config.from_dict(tree)).run()
    assert (tmp_path / "bars").is_dir() and not (tmp_path / "bars.csv").exists()
    assert default_format() == "parquet"


def hide_pyarrow(monkeypatch):
    """As if pyarrow were not installed: the recorder's import of it fails
    (pandas itself uses pyarrow where installed, so it stays importable)."""

    def missing():
        raise ModuleNotFoundError("No module named 'pyarrow'")

    monkeypatch.setattr(writers, "import_pyarrow", missing)


def config_file(tmp_path, record: str):
    path = tmp_path / "run.yaml"
    path.write_text(
        "run: {mode: replay}\nsources: {sim: {days: 1}}\noutputs:\n"
        f"  record:\n    dir: {tmp_path / 'out'}\n{record}"
    )
    return load_config(path)


def test_without_pyarrow_the_default_is_csv_and_a_warning_says_so(tmp_path, monkeypatch):
    hide_pyarrow(monkeypatch)
    assert default_format() == "csv"
    with structlog.testing.capture_logs() as logs:
        build_engine(config_file(tmp_path, "")).run()
    assert (tmp_path / "out" / "bars.csv").is_file()
    notes = [e for e in logs if "pyarrow is not installed" in e["event"]]
    assert len(notes) == 1 and notes[0]["log_level"] == "warning"
    with structlog.testing.capture_logs() as logs:
        build_engine(config_file(tmp_path, "    format: csv\n"))
    assert not [e for e in logs if "pyarrow" in e["event"]]


def test_parquet_asked_for_without_pyarrow_is_refused_at_its_key(tmp_path, monkeypatch):
    hide_pyarrow(monkeypatch)
    with pytest.raises(ConfigError) as err:
        build_engine(config_file(tmp_path, "    format: parquet\n"))
    assert (err.value.key_path, err.value.line) == ("outputs.record.format", 6)
    assert "needs pyarrow" in str(err.value) and "pip install pyarrow" in str(err.value)


def test_an_unknown_format_is_refused_at_its_key(tmp_path):
    with pytest.raises(ConfigError) as err:
        build_engine(config_file(tmp_path, "    format: feather\n"))
    assert err.value.key_path == "outputs.record.format"
    assert "expected one of parquet, csv, got 'feather'" in str(err.value)
