"""The two ways a block of lines is split (rsengine_csv.split): Arrow, for the
blocks it reads as the rules say, and the csv module, for the rest. Both must
give the same rows, counts and messages; the real files must go through Arrow
and equal an independent pandas read."""

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest
import rsengine_csv.reader as reader_module
import rsengine_csv.split as split_module
from rsengine_csv.reader import Chunk, CsvFormatError, CsvLayout, read

MICROS = [
    f"databento-micro-5m/{root}_c0_5m_2023-11-02_2026-03-20.csv.gz"
    for root in ("MES", "MNQ", "M2K")
]
VALUES = ("open", "high", "low", "close", "volume")
BARS = CsvLayout(
    kind="bars", columns={"ts": "ts", **{f: f for f in VALUES}}, stamps="open", symbol_column="sym"
)
TRADES = CsvLayout(kind="trades", columns={"ts": "ts", "price": "price", "size": "size"})


@pytest.fixture
def arrow_blocks(monkeypatch):
    """Counts the blocks Arrow split ([split, refused])."""
    counts = [0, 0]
    by_arrow = split_module._by_arrow

    def counted(*args):
        raw = by_arrow(*args)
        counts[raw is None] += 1
        return raw

    monkeypatch.setattr(split_module, "_by_arrow", counted)
    return counts


def outcome(path, layout, **kw):
    """Everything a read gives: the chunks' arrays, the error, the statistics."""
    reader = read(path, layout, **kw)
    arrays, error = [], None
    try:
        for chunk in reader:
            arrays.append({k: (v.dtype.str, v.tobytes()) for k, v in chunk.columns().items()})
    except CsvFormatError as exc:
        error = (str(exc), exc.line, exc.column, exc.kind)
    f = reader.stats.files[0]
    counts = (f.rows, f.delivered, f.skipped, f.filtered, f.duplicates, f.missing, f.blank)
    return arrays, error, counts, f.by_kind, f.reasons


def both_ways(monkeypatch, path, layout, **kw):
    """The outcome with Arrow, and with every block through the csv module."""
    with_arrow = outcome(path, layout, **kw)
    with monkeypatch.context() as m:
        m.setattr(split_module, "_by_arrow", lambda *args: None)
        return with_arrow, outcome(path, layout, **kw)


# ----------------------------------------------------------------------------------------------
# the real files
# ----------------------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("name", MICROS)
def test_micros_go_through_arrow_and_equal_pandas_and_the_csv_module(
    shared_data, monkeypatch, arrow_blocks, name
):
    path = shared_data / name
    layout = CsvLayout.preset("databento_micro_5m")
    got = Chunk.concat(read(path, layout, chunk_rows=8192))
    assert arrow_blocks[0] >= 3 and arrow_blocks[1] == 0  # every 4 MiB block split by Arrow
    want = pd.read_csv(path)
    stamps = pd.to_datetime(want["ts_et"], utc=True, format="ISO8601")
    np.testing.assert_array_equal(got.ts, pd.DatetimeIndex(stamps).as_unit("ns").asi8)
    for field in VALUES:
        np.testing.assert_array_equal(getattr(got, field), want[field].to_numpy(np.float64))
    assert got.symbol.tolist() == want["symbol"].tolist()
    with monkeypatch.context() as m:
        m.setattr(split_module, "_by_arrow", lambda *args: None)
        by_csv_module = Chunk.concat(read(path, layout, chunk_rows=8192))
    for field, values in got.columns().items():
        np.testing.assert_array_equal(values, getattr(by_csv_module, field), err_msg=field)
        assert values.dtype == getattr(by_csv_module, field).dtype


# ----------------------------------------------------------------------------------------------
# which blocks Arrow splits
# ----------------------------------------------------------------------------------------------


def bar_lines(n: int, eol: str = "\n") -> str:
    first = dt.datetime(2024, 1, 2, 10)
    rows = [
        f"{first + dt.timedelta(minutes=i):%Y-%m-%d %H:%M},10,11,9,10.5,{i},ESH4" for i in range(n)
    ]
    return "ts,open,high,low,close,volume,sym" + eol + eol.join(rows) + eol


CLEAN = {
    "plain": bar_lines(5),
    "crlf": bar_lines(5, "\r\n"),
    "blank lines": bar_lines(5).replace("\n2024-01-02 10:02", "\n\n\r\n2024-01-02 10:02"),
    "utf-8 beyond ascii": bar_lines(5).replace("ESH4", "ESH4\u00e9"),
    "a bad value": bar_lines(5).replace(",10.5,2,", ",-1,2,"),
}
REFUSED = {
    "quotes": bar_lines(5).replace(",ESH4", ',"ESH4"'),
    "lone carriage return": bar_lines(5).replace(",11,9,10.5,2", ",11\r,9,10.5,2"),
    "two carriage returns": bar_lines(5).replace(",2,ESH4\n", ",2,ESH4\r\r\n"),
    "short row": bar_lines(5).replace(",10.5,2,ESH4", ""),
    "long row": bar_lines(5).replace(",2,ESH4", ",2,ESH4,x"),
    "long field": bar_lines(5).replace(",10.5,2,", ",10." + "5" * 300 + ",2,"),
    "latin-1 byte": bar_lines(5).replace("ESH4\n2024-01-02 10:03", "ESH\udce9\n2024-01-02 10:03"),
    "nul byte": bar_lines(5).replace(",10.5,2,", ",10.5\x00,2,"),
}


def write(tmp_path, text: str) -> str:
    path = tmp_path / "bars.csv"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))  # "\udce9": the byte 0xe9
    return str(path)


@pytest.mark.parametrize("case", CLEAN, ids=list(CLEAN))
@pytest.mark.parametrize("on_bad_row", ["stop", "skip"])
def test_blocks_arrow_reads_give_what_the_csv_module_gives(
    tmp_path, monkeypatch, arrow_blocks, case, on_bad_row
):
    path = write(tmp_path, CLEAN[case])
    with_arrow, by_csv_module = both_ways(monkeypatch, path, BARS, on_bad_row=on_bad_row)
    assert arrow_blocks == [1, 0]
    assert with_arrow == by_csv_module
    assert with_arrow[2][6] == (2 if case == "blank lines" else 0)  # blank lines counted


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_blocks_arrow_cannot_read_as_the_rules_say_go_to_the_csv_module(
    tmp_path, arrow_blocks, case
):
    path = write(tmp_path, REFUSED[case])
    reader = read(path, BARS, on_bad_row="skip")
    delivered = len(Chunk.concat(reader))
    assert arrow_blocks == [0, 1]
    stats = reader.stats.files[0]
    if case in ("quotes", "lone carriage return", "two carriage returns", "long row"):
        assert delivered == 5 and stats.skipped == 0  # a \r inside a line stays in its field
    else:
        assert delivered == 4 and stats.skipped == 1
        assert stats.reasons[0].startswith(f"{path}:4:")


def test_a_bad_row_found_by_arrow_names_its_line_column_and_text(tmp_path, arrow_blocks):
    text = bar_lines(6).replace("\n2024-01-02 10:01", "\n\n2024-01-02 10:01")
    path = write(tmp_path, text.replace(",11,9,10.5,4,", ",11,9,1e12x,4,"))
    with pytest.raises(CsvFormatError) as err:
        list(read(path, BARS))
    assert str(err.value) == f"{path}:7:5 (close): '1e12x' is not a number"
    assert arrow_blocks == [1, 0]


# ----------------------------------------------------------------------------------------------
# damaged files: the same outcome either way
# ----------------------------------------------------------------------------------------------

DAMAGE = [
    lambda f: f[:2],
    lambda f: [*f, "x"],
    lambda f: [f'"{f[0]}"', *f[1:]],
    lambda f: [f[0], '"' + f[1], *f[2:]],
    lambda f: [f[0], f[1] + "\udce9", *f[2:]],
    lambda f: [f[0], " " + f[1], *f[2:]],
    lambda f: [f[0], "1_000", *f[2:]],
    lambda f: [f[0], "nan", *f[2:]],
    lambda f: [f[0], "", *f[2:]],
    lambda f: [f[0], "-" + f[1], *f[2:]],
    lambda f: [f[0], "inf", *f[2:]],
    lambda f: ["2024-13-02 10:00:00", *f[1:]],
    lambda f: ["2023-01-02 10:00:00", *f[1:]],
    lambda f: [f[0], "1" * 300, *f[2:]],
    lambda f: [f[0] + "\x00", *f[1:]],
    lambda f: [f[0], f[1] + "\r", *f[2:]],
    lambda f: [f[0], "\u00e9t\u00e9", *f[2:]],
]


def damaged_trades(rng: random.Random) -> str:
    lines, t = ["ts,price,size,sym"], 0
    for _ in range(rng.randint(1, 80)):
        t += rng.choice([0, 1, 1, 5])
        fields = [
            f"2024-01-02 10:{t // 60 % 60:02d}:{t % 60:02d}",
            f"{5000 + rng.randint(0, 999) / 100}",
            str(rng.randint(1, 9)),
            "ESH4",
        ]
        if rng.random() < 0.08:
            fields = rng.choice(DAMAGE)(fields)
        lines.append(",".join(fields))
        if rng.random() < 0.04:
            lines.append(rng.choice(["", "\r", " "]))
    eol = rng.choice(["\n", "\r\n"])
    return eol.join(lines) + eol


@pytest.mark.parametrize("seed", range(40))
def test_damaged_files_read_the_same_with_arrow_and_through_the_csv_module(
    tmp_path, monkeypatch, seed
):
    rng = random.Random(seed)
    path = write(tmp_path, damaged_trades(rng))
    layout = TRADES if rng.random() < 0.5 else CsvLayout(**{**_fields(TRADES), "symbol_column": 3})
    monkeypatch.setattr(reader_module, "_BLOCK_BYTES", rng.choice([64, 300, 1 << 22]))
    kw = {"on_bad_row": rng.choice(["stop", "skip"]), "chunk_rows": rng.choice([3, 8192])}
    with_arrow, by_csv_module = both_ways(monkeypatch, path, layout, **kw)
    assert with_arrow == by_csv_module


def _fields(layout: CsvLayout) -> dict:
    return {"kind": layout.kind, "columns": dict(layout.columns)}
