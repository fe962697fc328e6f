"""The CSV reader: presets on the real files, NinjaTrader formats, chunking, bad rows.

Real-data tests compare against an independent pandas read (``pd.read_csv`` and
``pd.to_datetime(..., utc=True)``). Small files are written by the tests into
``tmp_path``; the NinjaTrader fixtures are hand-written (see fixtures/README.md).
"""

import datetime as dt
import gzip
import itertools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rsengine_csv.reader as reader_module
from hypothesis import given, settings
from hypothesis import strategies as st
from rsengine_csv.reader import (
    MAX_REASONS,
    Chunk,
    CsvFormatError,
    CsvLayout,
    read,
)
from rsengine_csv.stamps import StampFormat

FIXTURES = Path(__file__).parent / "fixtures"
NT = FIXTURES / "ninjatrader"
NT_MINUTE_UTC = NT / "ES 03-24.minute-utc.Last.txt"
NT_MINUTE_ET = NT / "ES 03-24.minute-et.Last.txt"
NT_TICK_UTC = NT / "ES 06-24.tick-utc.Last.txt"
NT_TICK_FALLBACK = NT / "ES 12-24.tick-et-fallback.Last.txt"

DATABENTO = {
    "MES": "databento-micro-5m/MES_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "MNQ": "databento-micro-5m/MNQ_c0_5m_2023-11-02_2026-03-20.csv.gz",
    "M2K": "databento-micro-5m/M2K_c0_5m_2023-11-02_2026-03-20.csv.gz",
}
BARCHART = [
    f"barchart-hourly/front_by_volume_hourly_{name}.csv.gz"
    for name in ("SP500_micro", "NASDAQ_micro", "DOW", "RUSSELL", "US10")
]
TRADINGVIEW = "tradingview-es-nysetick-5m-2023-05/ES1_5m_with_NYSE_TICK.csv"
ESM8 = "ticks-es/ESM8_trades_2018-05-07_rTrawl.csv.gz"
LEAN_ES = "lean-es-spy-1m-2013-10/ES_minute_trade_all_contracts.csv"
MLFINLAB = ["ticks-es/mlfinlab_imbalance_sample_data_small.csv", "ticks-es/mlfinlab_tick_data.csv"]

OHLC = ("open", "high", "low", "close")
TRADES = CsvLayout(kind="trades", columns={"ts": "ts", "price": "price", "size": "size"})
BARS = CsvLayout(kind="bars", columns={f: f for f in ("ts", *OHLC, "volume")}, stamps="open")


def utc(text: str) -> int:
    """'2024-03-08 21:58[:00.5]' in UTC -> int ns."""
    return pd.Timestamp(text, tz="UTC").as_unit("ns").value


def ns(values) -> np.ndarray:
    return pd.DatetimeIndex(values).as_unit("ns").asi8


def collect(paths, layout, **kw) -> Chunk:
    return Chunk.concat(read(paths, layout, **kw))


def write(tmp_path, text: str, name="data.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def pandas_csv(path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, **kw)


def assert_values(chunk: Chunk, frame: pd.DataFrame, mapping: dict):
    for ours, theirs in mapping.items():
        np.testing.assert_array_equal(
            getattr(chunk, ours), frame[theirs].to_numpy(np.float64), err_msg=ours
        )


# ----------------------------------------------------------------------------------------------
# presets on the real files
# ----------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_databento_mes_full_file_matches_pandas(shared_data):
    path = shared_data / DATABENTO["MES"]
    reader = read(path, CsvLayout.preset("databento_micro_5m"))
    got = Chunk.concat(reader)
    want = pandas_csv(path)
    assert len(got) == len(want) == reader.stats.rows == reader.stats.delivered
    np.testing.assert_array_equal(
        got.ts, ns(pd.to_datetime(want["ts_et"], utc=True, format="ISO8601"))
    )
    assert_values(got, want, {f: f for f in (*OHLC, "volume")})
    assert got.symbol.tolist() == want["symbol"].tolist()
    assert got.stamps == "open"


@pytest.mark.realdata
@pytest.mark.parametrize("root", ["MNQ", "M2K"])
def test_databento_first_chunks_match_pandas_rows(shared_data, root):
    path = shared_data / DATABENTO[root]
    chunks = list(
        itertools.islice(read(path, CsvLayout.preset("databento_micro_5m"), chunk_rows=20000), 2)
    )
    got = Chunk.concat(chunks)
    want = pandas_csv(path, nrows=40000)
    assert [len(c) for c in chunks] == [20000, 20000]
    np.testing.assert_array_equal(
        got.ts, ns(pd.to_datetime(want["ts_et"], utc=True, format="ISO8601"))
    )
    assert_values(got, want, {f: f for f in (*OHLC, "volume")})


@pytest.mark.realdata
@pytest.mark.parametrize("name", BARCHART)
def test_barchart_hourly_matches_pandas(shared_data, name):
    path = shared_data / name
    got = collect(path, CsvLayout.preset("barchart_hourly"))
    want = pandas_csv(path)
    np.testing.assert_array_equal(got.ts, ns(pd.to_datetime(want["Time"], utc=True)))
    assert_values(
        got,
        want,
        {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"},
    )
    assert got.symbol.tolist() == want["contract"].astype(str).tolist()


@pytest.mark.realdata
def test_tradingview_5m_matches_pandas_with_zero_volume(shared_data):
    path = shared_data / TRADINGVIEW
    got = collect(path, CsvLayout.preset("tradingview_5m"))
    want = pandas_csv(path)
    np.testing.assert_array_equal(got.ts, ns(pd.to_datetime(want["time"], unit="s", utc=True)))
    assert_values(got, want, {f: f for f in OHLC})
    assert not got.volume.any()


@pytest.mark.realdata
def test_esm8_ticks_match_pandas_to_the_nanosecond_with_size_one(shared_data):
    path = shared_data / ESM8
    got = collect(path, CsvLayout.preset("esm8_ticks"))
    want = pandas_csv(path)
    stamps = ns(pd.to_datetime(want["ts_utc"], utc=True))
    assert (stamps % 1000 != 0).any()  # the file really has sub-microsecond digits
    np.testing.assert_array_equal(got.ts, stamps)
    assert_values(got, want, {"price": "price"})
    assert (got.size == 1.0).all()


@pytest.mark.realdata
def test_esm8_central_time_column_gives_the_same_instants(shared_data):
    layout = CsvLayout.preset("esm8_ticks", columns={"ts": "ts_ct", "price": "price"})
    got = collect(shared_data / ESM8, layout)
    want = collect(shared_data / ESM8, CsvLayout.preset("esm8_ticks"))
    np.testing.assert_array_equal(got.ts, want.ts)


@pytest.mark.realdata
@pytest.mark.parametrize("contract", ["ES201312", "ES201403", "ES202003"])
def test_lean_es_minute_one_contract_matches_pandas(shared_data, contract):
    path = shared_data / LEAN_ES
    reader = read(path, CsvLayout.preset("lean_es_minute", symbol=contract))
    got = Chunk.concat(reader)
    frame = pandas_csv(path)
    want = frame[frame["contract"] == contract]
    np.testing.assert_array_equal(got.ts, ns(pd.to_datetime(want["ts_utc"], utc=True)))
    np.testing.assert_array_equal(got.ts, ns(pd.to_datetime(want["ts_et"], utc=True)))
    assert_values(got, want, {f: f for f in (*OHLC, "volume")})
    assert set(got.symbol.tolist()) == {contract}
    assert reader.stats.filtered == len(frame) - len(want)


@pytest.mark.realdata
def test_lean_es_minute_without_symbol_filter_stops_where_the_next_contract_starts(shared_data):
    path = shared_data / LEAN_ES
    frame = pandas_csv(path)
    first_other = int((frame["contract"] != frame["contract"].iloc[0]).to_numpy().argmax())
    with pytest.raises(CsvFormatError, match=r"earlier than the previous row") as err:
        collect(path, CsvLayout.preset("lean_es_minute"))
    assert err.value.line == first_other + 2  # header is line 1


@pytest.mark.realdata
@pytest.mark.parametrize("name", MLFINLAB)
def test_mlfinlab_ticks_match_pandas(shared_data, name):
    path = shared_data / name
    got = collect(path, CsvLayout.preset("mlfinlab_ticks"))
    want = pandas_csv(path)
    stamps = pd.to_datetime(want["Date and Time"], format="%Y/%m/%d %H:%M:%S.%f", utc=True)
    np.testing.assert_array_equal(got.ts, ns(stamps))
    assert_values(got, want, {"price": "Price", "size": "Volume"})


# ----------------------------------------------------------------------------------------------
# NinjaTrader text formats (hand-written fixtures)
# ----------------------------------------------------------------------------------------------


def test_ninjatrader_minute_export_reads_utc_end_of_bar_stamps():
    got = collect(NT_MINUTE_UTC, CsvLayout.preset("ninjatrader_minute"))
    assert got.ts.tolist() == [
        utc("2024-03-08 21:58"),
        utc("2024-03-08 21:59"),
        utc("2024-03-08 22:00"),
        utc("2024-03-10 22:01"),
        utc("2024-03-10 22:02"),
        utc("2024-03-10 22:03"),
    ]
    assert got.open.tolist()[:2] == [5157.25, 5157.50]
    assert got.volume.tolist() == [1834, 2210, 3877, 1422, 651, 480]
    assert got.stamps == "close"


def test_ninjatrader_minute_in_new_york_time_across_the_dst_weekend_equals_the_utc_export():
    local = collect(NT_MINUTE_ET, CsvLayout.preset("ninjatrader_minute", tz="America/New_York"))
    export = collect(NT_MINUTE_UTC, CsvLayout.preset("ninjatrader_minute"))
    np.testing.assert_array_equal(local.ts, export.ts)
    for name in (*OHLC, "volume"):
        np.testing.assert_array_equal(getattr(local, name), getattr(export, name))


def test_ninjatrader_minute_with_decimal_comma_reads_the_same_prices(tmp_path):
    text = NT_MINUTE_UTC.read_text().replace(".", ",")
    got = collect(
        write(tmp_path, text, "ES.Last.txt"), CsvLayout.preset("ninjatrader_minute", decimal=",")
    )
    want = collect(NT_MINUTE_UTC, CsvLayout.preset("ninjatrader_minute"))
    np.testing.assert_array_equal(got.close, want.close)


def test_ninjatrader_tick_keeps_100ns_fractions_and_shared_stamps():
    got = collect(NT_TICK_UTC, CsvLayout.preset("ninjatrader_tick"))
    base = utc("2024-06-03 13:30:00")
    assert (got.ts - base).tolist() == [
        1_250_000,
        1_250_000,
        1_250_000,
        431_000_000,
        1_000_000_100,
        1_999_999_900,
    ]
    assert got.price.tolist() == [5301.25, 5301.25, 5301.50, 5301.50, 5301.25, 5301.00]
    assert got.size.tolist() == [3, 1, 2, 5, 1, 12]


def test_ninjatrader_tick_three_field_import_form_reads_with_changed_columns(tmp_path):
    text = "20240603 133000 0012500;5301.25;3\n20240603 133001 0000001;5301.5;1\n"
    layout = CsvLayout.preset("ninjatrader_tick", columns={"ts": 0, "price": 1, "size": 2})
    got = collect(write(tmp_path, text), layout)
    assert (got.ts - utc("2024-06-03 13:30:00")).tolist() == [1_250_000, 1_000_000_100]
    assert got.size.tolist() == [3, 1]


def test_ninjatrader_tick_in_local_time_raises_on_the_first_ambiguous_row():
    layout = CsvLayout.preset("ninjatrader_tick", tz="America/New_York")
    with pytest.raises(CsvFormatError) as err:
        collect(NT_TICK_FALLBACK, layout)
    assert f"{NT_TICK_FALLBACK}:2:1 (ts): '20241103 013000 0000000' is ambiguous" in str(err.value)
    assert err.value.kind == "zone"


def test_ninjatrader_tick_infer_reads_the_repeated_hour_in_file_order():
    layout = CsvLayout.preset("ninjatrader_tick", tz="America/New_York", tz_ambiguous="infer")
    got = collect(NT_TICK_FALLBACK, layout)
    assert got.ts.tolist() == [
        utc("2024-11-03 04:59:59.5"),
        utc("2024-11-03 05:30"),
        utc("2024-11-03 05:59:59"),
        utc("2024-11-03 06:00"),
        utc("2024-11-03 06:30"),
        utc("2024-11-03 07:00"),
    ]


@pytest.mark.parametrize("mode, first_reading", [("earliest", "05:30"), ("latest", "06:30")])
def test_earliest_and_latest_pick_one_reading_of_an_ambiguous_time(tmp_path, mode, first_reading):
    path = write(tmp_path, "20241103 013000 0000000;5751.00;5750.75;5751.00;1\n")
    layout = CsvLayout.preset("ninjatrader_tick", tz="America/New_York", tz_ambiguous=mode)
    assert collect(path, layout).ts.tolist() == [utc(f"2024-11-03 {first_reading}")]


def test_ninjatrader_tick_earliest_mode_makes_the_second_pass_go_back_in_time():
    layout = CsvLayout.preset("ninjatrader_tick", tz="America/New_York", tz_ambiguous="earliest")
    with pytest.raises(CsvFormatError, match="earlier than the previous row") as err:
        collect(NT_TICK_FALLBACK, layout)
    assert err.value.line == 4


# ----------------------------------------------------------------------------------------------
# chunking, compression, several files
# ----------------------------------------------------------------------------------------------


def _tick_file(tmp_path, n=50, name="ticks.csv", start=0) -> str:
    rows = [
        f"2024-01-02 15:00:{(start + i) // 10:02d}.{(start + i) % 10}00,"
        f"{4700 + i % 7 * 0.25},{i % 5 + 1}"
        for i in range(n)
    ]
    return write(tmp_path, "ts,price,size\n" + "\n".join(rows) + "\n", name)


@pytest.mark.parametrize("chunk_rows", [1, 7, 65536])
def test_chunk_rows_does_not_change_the_rows_read(tmp_path, chunk_rows):
    path = _tick_file(tmp_path)
    chunks = list(read(path, TRADES, chunk_rows=chunk_rows))
    got = Chunk.concat(chunks)
    want = collect(path, TRADES, chunk_rows=50)
    for name in ("ts", "price", "size"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    assert all(len(c) == chunk_rows for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= chunk_rows


@pytest.mark.realdata
@pytest.mark.parametrize("chunk_rows", [1, 7, 65536])
def test_chunk_rows_does_not_change_a_real_file(shared_data, chunk_rows):
    path = shared_data / MLFINLAB[0]
    got = collect(path, CsvLayout.preset("mlfinlab_ticks"), chunk_rows=chunk_rows)
    want = collect(path, CsvLayout.preset("mlfinlab_ticks"), chunk_rows=100000)
    np.testing.assert_array_equal(got.ts, want.ts)
    np.testing.assert_array_equal(got.price, want.price)


@pytest.mark.parametrize("block", [1, 5, 64])
def test_lines_split_across_read_blocks_give_the_same_rows_and_chunk_sizes(
    tmp_path, monkeypatch, block
):
    path = _tick_file(tmp_path, 40)
    want = collect(path, TRADES)
    monkeypatch.setattr(reader_module, "_BLOCK_BYTES", block)
    chunks = list(read(path, TRADES, chunk_rows=6))
    got = Chunk.concat(chunks)
    for name in ("ts", "price", "size"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    assert [len(c) for c in chunks] == [6] * 6 + [4]


def test_quote_first_seen_in_a_later_block_switches_to_the_csv_module_mid_file(
    tmp_path, monkeypatch
):
    path = _tick_file(tmp_path, 30)
    lines = Path(path).read_text().splitlines()
    ts, price, size = lines[20].split(",")
    lines[20] = f'{ts},"{price}",{size}'
    lines[26] = lines[26].replace(",", ",x", 1)
    Path(path).write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(reader_module, "_BLOCK_BYTES", 100)
    monkeypatch.setattr(reader_module, "_BATCH_LINES", 3)
    delivered = []
    with pytest.raises(CsvFormatError) as err:
        delivered.extend(read(path, TRADES))
    assert (err.value.line, err.value.column) == (27, 2)
    assert sum(len(c) for c in delivered) == 25


def test_rows_of_one_length_in_two_shapes_both_parse(tmp_path):
    text = "ts,price\n2024-01-02T10:00:00,1\n2024-01-02 10:00:01,2\n2024-01-02T10:00:02,3\n"
    layout = CsvLayout(kind="trades", columns={"ts": "ts", "price": "price"})
    got = collect(write(tmp_path, text), layout)
    assert (got.ts - utc("2024-01-02 10:00")).tolist() == [0, 10**9, 2 * 10**9]


def test_gzip_file_reads_the_same_as_plain(tmp_path):
    plain = _tick_file(tmp_path)
    zipped = tmp_path / "ticks.csv.gz"
    with open(plain, "rb") as src, gzip.open(zipped, "wb") as dst:
        shutil.copyfileobj(src, dst)
    got, want = collect(zipped, TRADES), collect(plain, TRADES)
    for name in ("ts", "price", "size"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))


def test_several_files_concatenate_in_the_order_given(tmp_path):
    one = _tick_file(tmp_path, 20, "a.csv")
    two = _tick_file(tmp_path, 20, "b.csv", start=20)
    whole = _tick_file(tmp_path, 40, "all.csv")
    reader = read([one, two], TRADES, chunk_rows=15)
    chunks = list(reader)
    np.testing.assert_array_equal(Chunk.concat(chunks).ts, collect(whole, TRADES).ts)
    assert [c.path for c in chunks] == [one, one, two, two]  # a chunk never spans files
    assert [f.delivered for f in reader.stats.files] == [20, 20]


@pytest.mark.parametrize("on_bad_row", ["stop", "skip"])
def test_second_file_that_goes_back_in_time_raises(tmp_path, on_bad_row):
    later = _tick_file(tmp_path, 20, "later.csv", start=20)
    earlier = _tick_file(tmp_path, 20, "earlier.csv")
    with pytest.raises(CsvFormatError, match="files must be given in time order") as err:
        collect([later, earlier], TRADES, on_bad_row=on_bad_row)
    assert str(err.value).startswith(f"{earlier}:2:1 (ts): ")


def test_second_file_starting_on_the_last_stamp_of_the_first_is_accepted(tmp_path):
    one = write(tmp_path, "ts,price,size\n2024-01-02 15:00,1,1\n", "a.csv")
    two = write(tmp_path, "ts,price,size\n2024-01-02 15:00,2,1\n", "b.csv")
    assert collect([one, two], TRADES).price.tolist() == [1, 2]


def test_quoted_file_reads_the_same_as_unquoted(tmp_path):
    plain = _tick_file(tmp_path)
    lines = Path(plain).read_text().splitlines()
    quoted = "\n".join(",".join(f'"{f}"' for f in line.split(",")) for line in lines) + "\n"
    got = collect(write(tmp_path, quoted, "quoted.csv"), TRADES)
    want = collect(plain, TRADES)
    np.testing.assert_array_equal(got.ts, want.ts)
    np.testing.assert_array_equal(got.price, want.price)


def test_quoted_field_cannot_span_lines_each_line_is_one_bad_row(tmp_path):
    text = (
        'ts,price,size,note\n2024-01-02 15:00,1,1,"two\nlines"\n'
        "2024-01-02 15:01,x,1,plain\n2024-01-02 15:02,3,1,plain\n"
    )
    with pytest.raises(CsvFormatError) as err:
        collect(write(tmp_path, text), TRADES)
    assert (err.value.line, err.value.column, err.value.kind) == (2, 4, "quote")
    reader = read(write(tmp_path, text), TRADES, on_bad_row="skip")
    assert Chunk.concat(reader).price.tolist() == [3]
    assert [int(r.split(":")[1]) for r in reader.stats.reasons] == [2, 3, 4]


def test_blank_lines_are_counted_and_not_delivered(tmp_path):
    path = write(tmp_path, "ts,price,size\n2024-01-02 15:00,1,1\n\n\r\n2024-01-02 15:01,2,1\n\n")
    reader = read(path, TRADES)
    assert Chunk.concat(reader).price.tolist() == [1, 2]
    assert reader.stats.blank == 3 and reader.stats.rows == 2


def test_last_line_without_newline_is_read(tmp_path):
    path = write(tmp_path, "ts,price,size\n2024-01-02 15:00,1,1\n2024-01-02 15:01,2,1")
    assert collect(path, TRADES).price.tolist() == [1, 2]


def test_byte_order_mark_before_the_header_is_ignored(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfts,price,size\n2024-01-02 15:00,1,1\n")
    assert collect(path, TRADES).price.tolist() == [1]


def test_utf16_file_reads_the_same_as_utf8(tmp_path):
    plain = _tick_file(tmp_path)
    wide = tmp_path / "wide.csv"
    wide.write_text(Path(plain).read_text(), encoding="utf-16")
    layout = CsvLayout(kind="trades", columns=dict(TRADES.columns), encoding="utf-16")
    got = collect(wide, layout)
    np.testing.assert_array_equal(got.ts, collect(plain, TRADES).ts)


# ----------------------------------------------------------------------------------------------
# layouts: stamps, columns, symbols
# ----------------------------------------------------------------------------------------------


def test_date_and_time_columns_are_joined_with_a_space(tmp_path):
    path = write(tmp_path, "Date,Time,Last\n05/07/2018,08:30:00.25,2670.5\n")
    layout = CsvLayout(
        kind="trades",
        columns={"date": "Date", "time": "Time", "price": "Last"},
        ts_format="%m/%d/%Y %H:%M:%S.%f",
        tz="America/Chicago",
    )
    got = collect(path, layout)
    assert got.ts.tolist() == [utc("2018-05-07 13:30:00.25")]
    assert got.size.tolist() == [1.0]


@pytest.mark.parametrize(
    "fmt, text, want",
    [
        ("unix_s", "1704209400", "2024-01-02 15:30"),
        ("unix_s", "1704209400.000000001", "2024-01-02 15:30:00.000000001"),
        ("unix_ms", "1704209400123", "2024-01-02 15:30:00.123"),
        ("unix_ms", "1704209400123.5", "2024-01-02 15:30:00.1235"),
        ("unix_us", "1704209400123456", "2024-01-02 15:30:00.123456"),
        ("unix_ns", "1704209400123456789", "2024-01-02 15:30:00.123456789"),
        ("unix_s", "-1", "1969-12-31 23:59:59"),
    ],
)
def test_unix_stamps_convert_exactly(tmp_path, fmt, text, want):
    path = write(tmp_path, f"ts,price\n{text},1\n")
    layout = CsvLayout(
        kind="trades", columns={"ts": "ts", "price": "price"}, ts_format=fmt, tz="America/New_York"
    )
    assert collect(path, layout).ts.tolist() == [utc(want)]


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-02T15:30:00Z",
        "2024-01-02 15:30:00+00:00",
        "2024-01-02T10:30:00-0500",
        "2024-01-02T21:00:00+05:30",
        "2024-01-02 10:30:00.5-05:00",
        "2024-01-02 10:30",
        "2024-01-02T10:30:00.123456789",
        "2024-01-02 10:30:00,25",
        "2024-01-02",
        "2024-07-02 11:30:00.000000001",
    ],
)
def test_iso_stamps_match_pandas(tmp_path, text):
    field = f'"{text}"' if "," in text else text  # a decimal comma needs quoting in a CSV
    path = write(tmp_path, f"ts,price\n{field},1\n")
    layout = CsvLayout(kind="trades", columns={"ts": "ts", "price": "price"}, tz="America/New_York")
    stamp = pd.Timestamp(text.replace(",", "."))
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("America/New_York")
    assert collect(path, layout).ts.tolist() == [stamp.as_unit("ns").value]


def test_headerless_file_maps_columns_by_index_after_skip_rows(tmp_path):
    text = "exported by hand\n# another comment\n2024-01-02 15:00|1.5|3|ESH4\n"
    layout = CsvLayout(
        kind="trades",
        columns={"ts": 0, "price": 1, "size": 2},
        header=False,
        delimiter="|",
        skip_rows=2,
        symbol_column=3,
    )
    got = collect(write(tmp_path, text), layout)
    assert got.ts.tolist() == [utc("2024-01-02 15:00")]
    assert got.symbol.tolist() == ["ESH4"]


def test_symbol_filter_keeps_matching_rows_and_counts_the_rest(tmp_path):
    text = (
        "ts,price,sym\n2024-01-02 15:00,1,ESH4\n2024-01-02 14:00,bad,ESM4\n"
        "2024-01-02 15:01,2,ESH4\n"
    )
    layout = CsvLayout(
        kind="trades", columns={"ts": "ts", "price": "price"}, symbol_column="sym", symbol="ESH4"
    )
    reader = read(write(tmp_path, text), layout)
    got = Chunk.concat(reader)
    assert got.price.tolist() == [1, 2] and got.symbol.tolist() == ["ESH4", "ESH4"]
    assert (reader.stats.rows, reader.stats.filtered, reader.stats.skipped) == (3, 1, 0)


def test_row_too_broken_to_filter_by_symbol_is_a_bad_row_not_filtered(tmp_path):
    text = "ts,price,sym\n2024-01-02 15:00,1,ESH4\n2024-01-02 15:01,2\n2024-01-02 15:02,3,ESH4\n"
    layout = CsvLayout(
        kind="trades", columns={"ts": "ts", "price": "price"}, symbol_column="sym", symbol="ESH4"
    )
    reader = read(write(tmp_path, text), layout, on_bad_row="skip")
    assert Chunk.concat(reader).price.tolist() == [1, 3]
    assert (reader.stats.skipped, reader.stats.filtered) == (1, 0)


def test_bars_without_a_volume_column_get_zero_volume(tmp_path):
    path = write(tmp_path, "ts,open,high,low,close\n2024-01-02 15:00,1,2,0.5,1.5\n")
    layout = CsvLayout(kind="bars", columns={f: f for f in ("ts", *OHLC)}, stamps="close")
    got = collect(path, layout)
    assert got.volume.tolist() == [0.0] and got.stamps == "close"


_DATES = st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2200, 12, 31))


@settings(max_examples=60, deadline=None)
@given(
    stamps=st.lists(
        st.tuples(
            _DATES, st.integers(0, 999_999_999), st.integers(1, 9), st.integers(-14 * 60, 14 * 60)
        ),
        min_size=1,
        max_size=30,
    ),
    fmt=st.sampled_from(["iso", "%Y%m%d %H%M%S %f", "%d.%m.%Y %H:%M:%S.%f%z"]),
)
def test_vectorized_stamp_parse_equals_row_by_row_and_the_generating_time(stamps, fmt):
    texts, want = [], []
    for when, frac, digits, offset in stamps:
        frac_text = f"{frac:09d}"[:digits]
        sign = "-" if offset < 0 else "+"
        zone = f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
        if fmt == "iso":
            texts.append(when.strftime("%Y-%m-%dT%H:%M:%S.") + frac_text + zone)
        else:
            texts.append(when.strftime(fmt.replace("%f", frac_text).replace("%z", zone)))
        local = ((when - dt.datetime(1970, 1, 1)) // dt.timedelta(seconds=1)) * 10**9
        local += int(frac_text.ljust(9, "0"))
        want.append(local - offset * 60 * 10**9 if "z" in fmt or fmt == "iso" else local)
    parser = StampFormat(fmt)
    got, has_offset, ok = parser.parse_many(np.array([t.encode() for t in texts]))
    one_by_one = [parser.parse_one(t)[0] for t in texts]
    assert one_by_one == want
    assert got[ok].tolist() == [w for w, k in zip(want, ok, strict=True) if k]
    assert ok.all()


# ----------------------------------------------------------------------------------------------
# bad rows
# ----------------------------------------------------------------------------------------------

T_HEAD = "ts,price,size"
B_HEAD = "ts,open,high,low,close,volume"
T_GOOD = ("2024-01-02 10:00:00,4700.25,1", "2024-01-02 10:00:02,4700.5,2")
B_GOOD = ("2024-01-02 10:00,10,11,9,10.5,5", "2024-01-02 10:05,10.5,12,10,11,7")

# (name, layout, bad row, column, field, offending text, kind)
BAD_ROWS = [
    (
        "too few fields",
        TRADES,
        "2024-01-02 10:00:01,4700.25",
        3,
        "size",
        "2024-01-02 10:00:01,4700.25",
        "fields",
    ),
    (
        "unparsable stamp",
        TRADES,
        "2024-01-32 10:00:01,4700.25,1",
        1,
        "ts",
        "2024-01-32 10:00:01",
        "stamp",
    ),
    (
        "stamp in another shape",
        TRADES,
        "02.01.2024 10:00:01,4700.25,1",
        1,
        "ts",
        "02.01.2024 10:00:01",
        "stamp",
    ),
    ("price not a number", TRADES, "2024-01-02 10:00:01,abc,1", 2, "price", "abc", "number"),
    ("empty price", TRADES, "2024-01-02 10:00:01,,1", 2, "price", "", "number"),
    ("price nan", TRADES, "2024-01-02 10:00:01,nan,1", 2, "price", "nan", "non_finite"),
    ("price inf", TRADES, "2024-01-02 10:00:01,inf,1", 2, "price", "inf", "non_finite"),
    ("negative size", TRADES, "2024-01-02 10:00:01,4700.25,-2", 3, "size", "-2", "negative"),
    (
        "overlong field",
        TRADES,
        "2024-01-02 10:00:01," + "1" * 300 + ",1",
        2,
        "price",
        "1" * 77 + "...",
        "fields",
    ),
    (
        "stamp out of order",
        TRADES,
        "2024-01-02 09:59:59,4700.25,1",
        1,
        "ts",
        "2024-01-02 09:59:59",
        "order",
    ),
    (
        "local time in the DST gap",
        CsvLayout(kind="trades", columns=dict(TRADES.columns), tz="America/New_York"),
        "2024-03-10 02:30:00,4700.25,1",
        1,
        "ts",
        "2024-03-10 02:30:00",
        "zone",
    ),
    (
        "ambiguous local time",
        CsvLayout(kind="trades", columns=dict(TRADES.columns), tz="America/New_York"),
        "2024-11-03 01:30:00,4700.25,1",
        1,
        "ts",
        "2024-11-03 01:30:00",
        "zone",
    ),
    ("high below low", BARS, "2024-01-02 10:01,10,9,11,10,5", 3, "high", "9", "high_low"),
    ("open infinite", BARS, "2024-01-02 10:01,-inf,11,9,10,5", 2, "open", "-inf", "non_finite"),
    ("negative volume", BARS, "2024-01-02 10:01,10,11,9,10,-5", 6, "volume", "-5", "negative"),
    ("open above high", BARS, "2024-01-02 10:01,12,11,9,10,5", 2, "open", "12", "open_close"),
    ("close below low", BARS, "2024-01-02 10:01,10,11,9,8,5", 5, "close", "8", "open_close"),
    ("typo in open", BARS, "2024-01-02 10:01,100.5,11,9,10,5", 2, "open", "100.5", "open_close"),
    ("negative price", BARS, "2024-01-02 10:01,-10,11,-11,10,5", 2, "open", "-10", "non_positive"),
    ("all-zero bar", BARS, "2024-01-02 10:01,0,0,0,0,0", 2, "open", "0", "non_positive"),
    ("zero trade price", TRADES, "2024-01-02 10:00:01,0,1", 2, "price", "0", "non_positive"),
    ("huge volume", BARS, "2024-01-02 10:01,10,11,9,10,1e300", 6, "volume", "1e300", "too_large"),
    ("huge price", TRADES, "2024-01-02 10:00:01,1e10,1", 2, "price", "1e10", "too_large"),
    ("duplicated bar", BARS, B_GOOD[0], 1, "ts", "2024-01-02 10:00", "duplicate"),
    (
        "bar stamp repeated with other values",
        BARS,
        "2024-01-02 10:00,10,11,9,10,5",
        1,
        "ts",
        "2024-01-02 10:00",
        "duplicate",
    ),
    (
        "unterminated quote",
        TRADES,
        '2024-01-02 10:00:01,"4700.25,1',
        2,
        "price",
        '"4700.25,1',
        "quote",
    ),
    ("stray quote", TRADES, '2024-01-02 10:00:01,"4700"25,1', 2, "price", '"4700"25,1', "quote"),
]


def _bad_file(tmp_path, layout, bad_row):
    zone = layout.tz != "UTC"
    if layout.kind == "bars":
        head, good = B_HEAD, B_GOOD
    elif zone:  # keep the good rows around the bad local time
        day = bad_row[:10]
        head, good = T_HEAD, (f"{day} 00:00:00,1,1", f"{day} 05:00:00,1,1")
    else:
        head, good = T_HEAD, T_GOOD
    return write(tmp_path, "\n".join([head, good[0], bad_row, good[1]]) + "\n")


@pytest.mark.parametrize(
    "name, layout, row, column, field, text, kind", BAD_ROWS, ids=[case[0] for case in BAD_ROWS]
)
def test_bad_row_stops_with_file_line_column_and_text(
    tmp_path, name, layout, row, column, field, text, kind
):
    path = _bad_file(tmp_path, layout, row)
    reader = read(path, layout, chunk_rows=1)
    delivered = []
    with pytest.raises(CsvFormatError) as err:
        delivered.extend(reader)
    assert str(err.value).startswith(f"{path}:3:{column} ({field}): {text!r} ")
    assert (err.value.line, err.value.column, err.value.kind) == (3, column, kind)
    assert sum(len(c) for c in delivered) == 1  # the row before the bad one


@pytest.mark.parametrize(
    "name, layout, row, column, field, text, kind", BAD_ROWS, ids=[case[0] for case in BAD_ROWS]
)
def test_bad_row_is_skipped_and_counted_in_skip_mode(
    tmp_path, name, layout, row, column, field, text, kind
):
    path = _bad_file(tmp_path, layout, row)
    reader = read(path, layout, on_bad_row="skip")
    got = Chunk.concat(reader)
    stats = reader.stats
    assert len(got) == 2
    assert (stats.rows, stats.delivered, stats.skipped) == (3, 2, 1)
    assert stats.files[0].by_kind == {kind: 1}
    assert stats.reasons[0].startswith(f"{path}:3:{column} ({field}): {text!r} ")


def test_bad_row_message_says_what_was_expected(tmp_path):
    path = _bad_file(tmp_path, TRADES, "2024-01-02 10:00:01,abc,1")
    with pytest.raises(CsvFormatError) as err:
        collect(path, TRADES)
    assert str(err.value) == f"{path}:3:2 (price): 'abc' is not a number"
    with pytest.raises(ValueError, match="expected e.g. '2024-01-02 15:30:00.123456789"):
        collect(_bad_file(tmp_path, TRADES, "yesterday,1,1"), TRADES)


def test_skip_mode_compares_order_with_the_last_kept_row(tmp_path):
    rows = [
        "2024-01-02 10:00,1,1",
        "2024-01-02 09:00,2,1",
        "2024-01-02 09:30,3,1",
        "2024-01-02 10:00,4,1",
    ]
    reader = read(write(tmp_path, "\n".join([T_HEAD, *rows]) + "\n"), TRADES, on_bad_row="skip")
    assert Chunk.concat(reader).price.tolist() == [1, 4]
    assert reader.stats.files[0].by_kind == {"order": 2}


def test_skip_mode_keeps_only_the_first_reasons(tmp_path):
    rows = [f"2024-01-02 10:00:{i:02d},x,1" for i in range(MAX_REASONS + 5)]
    reader = read(
        write(tmp_path, "\n".join([T_HEAD, *rows, "2024-01-02 11:00,1,1"]) + "\n"),
        TRADES,
        on_bad_row="skip",
    )
    assert len(Chunk.concat(reader)) == 1
    assert reader.stats.skipped == MAX_REASONS + 5
    assert len(reader.stats.reasons) == MAX_REASONS


def test_stop_mode_delivers_every_row_before_the_bad_one(tmp_path):
    path = _tick_file(tmp_path, 30)
    lines = Path(path).read_text().splitlines()
    lines[25] = lines[25].replace(",", ",oops", 1)
    Path(path).write_text("\n".join(lines) + "\n")
    for chunk_rows in (1, 7, 65536):
        delivered = []
        with pytest.raises(CsvFormatError):
            delivered.extend(read(path, TRADES, chunk_rows=chunk_rows))
        assert sum(len(c) for c in delivered) == 24


def test_format_error_is_a_value_error():
    assert issubclass(CsvFormatError, ValueError)


# ----------------------------------------------------------------------------------------------
# file-level problems and layout validation
# ----------------------------------------------------------------------------------------------


def test_unknown_header_name_suggests_the_closest(tmp_path):
    layout = CsvLayout(kind="trades", columns={"ts": "Time", "price": "Prise"})
    path = write(tmp_path, "Time,Price,Volume\n2024-01-02 10:00,1,1\n")
    with pytest.raises(
        CsvFormatError,
        match=r":1 \(price\): the header has no column 'Prise';"
        r" did you mean 'Price'\?",
    ):
        collect(path, layout)


def test_header_without_a_mapped_column_raises_even_in_skip_mode(tmp_path):
    path = write(tmp_path, "ts,price\n2024-01-02 10:00,1\n")
    with pytest.raises(CsvFormatError, match=r"\(size\): the header has no column 'size'"):
        collect(path, TRADES, on_bad_row="skip")


def test_header_name_that_appears_twice_must_be_mapped_by_index(tmp_path):
    path = write(tmp_path, "ts,price,price\n2024-01-02 10:00,1,2\n")
    layout = CsvLayout(kind="trades", columns={"ts": "ts", "price": "price"})
    with pytest.raises(CsvFormatError, match="'price' 2 times"):
        collect(path, layout)


def test_file_ending_before_its_header_raises(tmp_path):
    with pytest.raises(CsvFormatError, match="ends before its header"):
        collect(write(tmp_path, ""), TRADES)


def test_headerless_file_with_no_rows_yields_nothing(tmp_path):
    reader = read(write(tmp_path, ""), CsvLayout.preset("ninjatrader_minute"))
    assert list(reader) == [] and reader.stats.rows == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "trades", "columns": {"ts": 0, "prize": 1}}, "did you mean 'price'"),
        ({"kind": "trades", "columns": {"ts": "ts"}}, "need 'price'"),
        ({"kind": "bars", "columns": {f: f for f in ("ts", *OHLC)}}, "stamps: bars need"),
        (
            {"kind": "trades", "columns": {"ts": "ts", "price": "p"}, "header": False},
            "map it by 0-based index",
        ),
        (
            {"kind": "trades", "columns": {"ts": 0, "price": 1}, "ts_format": "%Y-%m-%d %Q"},
            "unsupported directive %Q",
        ),
        (
            {"kind": "trades", "columns": {"ts": 0, "price": 1}, "ts_format": "%H:%M"},
            "needs a year",
        ),
        (
            {"kind": "trades", "columns": {"ts": 0, "price": 1}, "tz": "America/NewYork"},
            "not a known time zone",
        ),
        (
            {"kind": "trades", "columns": {"ts": 0, "price": 1}, "delimiter": ",", "decimal": ","},
            "cannot both be",
        ),
        (
            {"kind": "trades", "columns": {"ts": 0, "price": 1}, "symbol": "ES"},
            "needs symbol_column",
        ),
        ({"kind": "trades", "columns": {"ts": 0, "date": 1, "time": 2, "price": 3}}, "not both"),
    ],
)
def test_invalid_layout_is_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CsvLayout(**kwargs)


def test_unknown_preset_suggests_the_closest():
    with pytest.raises(ValueError, match="did you mean 'ninjatrader_tick'"):
        CsvLayout.preset("ninjatrader_ticks")


def test_every_preset_is_documented_in_the_preset_docstring():
    from rsengine_csv.reader import PRESETS

    for name in PRESETS:
        assert f"``{name}``" in CsvLayout.preset.__doc__
