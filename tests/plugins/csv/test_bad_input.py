"""Bad input the reader must name: damaged files, bytes that are not text, quotes
left open, repeated bars, header rows that are data (or missing)."""

import datetime as dt
import gzip

import pytest
from rsengine_csv.reader import Chunk, CsvFormatError, CsvLayout, read

HEAD = "ts,open,high,low,close,volume\n"
BARS = CsvLayout(kind="bars", columns={f: f for f in HEAD.strip().split(",")}, stamps="open")
BY_INDEX = CsvLayout(
    kind="bars",
    columns={"ts": 0, "open": 1, "high": 2, "low": 3, "close": 4, "volume": 5},
    stamps="open",
)


def bar_rows(n: int, start: int = 0) -> list[str]:
    """One-minute bars from 2024-01-02 10:00 (+ ``start`` minutes); volume = row number."""
    first = dt.datetime(2024, 1, 2, 10) + dt.timedelta(minutes=start)
    return [
        f"{first + dt.timedelta(minutes=i):%Y-%m-%d %H:%M},10,11,9,10.5,{i}\n" for i in range(n)
    ]


def write(tmp_path, data, name="bars.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


def read_all(path, layout=BARS, **kw) -> Chunk:
    return Chunk.concat(read(path, layout, **kw))


def failure(path, layout=BARS, **kw) -> CsvFormatError:
    with pytest.raises(CsvFormatError) as err:
        list(read(path, layout, **kw))
    return err.value


# ----------------------------------------------------------------------------------------------
# damaged files
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("on_bad_row", ["stop", "skip"])
def test_truncated_gzip_file_is_named_with_the_line_it_stops_after(tmp_path, on_bad_row):
    whole = gzip.compress((HEAD + "".join(bar_rows(400))).encode())
    path = write(tmp_path, whole[: len(whole) // 2], "bars.csv.gz")
    err = failure(path, on_bad_row=on_bad_row)
    assert str(err).startswith(f"{path}:2: the gzip data ends early, after line 1")
    assert "truncated" in str(err) and err.kind == "file"


def test_gz_file_that_is_not_gzip_is_named(tmp_path):
    path = write(tmp_path, HEAD + "".join(bar_rows(3)), "bars.csv.gz")
    err = failure(path)
    assert str(err).startswith(f"{path}: is not gzip data") and "drop .gz" in str(err)


def test_gzip_data_without_gz_in_the_name_is_named(tmp_path):
    path = write(tmp_path, gzip.compress((HEAD + "".join(bar_rows(3))).encode()))
    assert str(failure(path)).startswith(f"{path}: is gzip-compressed but its name")


def test_folder_given_as_a_file_is_named(tmp_path):
    assert str(failure(str(tmp_path))).startswith(f"{tmp_path}: cannot be read: Is a directory")


# ----------------------------------------------------------------------------------------------
# bytes that are not text
# ----------------------------------------------------------------------------------------------


def test_binary_file_stops_at_its_first_line_naming_the_byte(tmp_path):
    path = write(tmp_path, HEAD.encode() + bytes(range(128, 256)) * 4)
    err = failure(path)
    assert str(err).startswith(f"{path}:2:1 (ts): ")
    assert "byte 0x80, which is not utf-8 text" in str(err) and err.kind == "encoding"


def test_binary_header_is_named_with_its_column(tmp_path):
    path = write(tmp_path, b"ts,op\xffen,high\n" + "".join(bar_rows(2)).encode())
    err = failure(path)
    assert str(err).startswith(f"{path}:1:2: the header has the byte 0xff")


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_latin1_byte_in_a_utf8_file_is_a_bad_row_with_line_and_column(tmp_path, quoted):
    rows = bar_rows(4)
    note = b'"caf\xe9"' if quoted else b"caf\xe9"
    data = (
        HEAD.encode()
        + "".join(rows[:2]).encode()
        + rows[2].encode().rstrip(b"\n")
        + b","
        + note
        + b"\n"
        + rows[3].encode()
    )
    path = write(tmp_path, data)
    err = failure(path)
    assert str(err).startswith(f"{path}:4:7 (column 7): ")
    assert "0xe9, which is not utf-8 text" in str(err)
    reader = read(path, BARS, on_bad_row="skip")
    assert len(Chunk.concat(reader)) == 3 and reader.stats.skipped == 1
    latin = CsvLayout(kind="bars", columns=dict(BARS.columns), stamps="open", encoding="latin-1")
    assert len(read_all(path, latin)) == 4


def test_nul_byte_is_a_bad_row_that_suggests_utf16(tmp_path):
    data = HEAD + "".join(bar_rows(2)) + "2024-01-02 11:00,10,1\x001,9,10,1\n"
    err = failure(write(tmp_path, data))
    assert (err.line, err.column, err.kind) == (4, 3, "encoding") and "UTF-16" in str(err)


# ----------------------------------------------------------------------------------------------
# quotes left open
# ----------------------------------------------------------------------------------------------


def test_quote_left_open_early_in_a_large_file_is_a_bad_row_not_a_field_limit(tmp_path):
    rows = bar_rows(3000)
    rows[0] = rows[0].replace(",10,", ',"10,', 1)
    path = write(tmp_path, HEAD + "".join(rows))
    err = failure(path)
    assert str(err).startswith(f"{path}:2:2 (open): '\"10,11,9,10.5,0' has quoting")
    reader = read(path, BARS, on_bad_row="skip")
    assert len(Chunk.concat(reader)) == 2999
    assert (reader.stats.rows, reader.stats.skipped) == (3000, 1)


def test_quote_left_open_mid_file_in_skip_mode_skips_exactly_one_row(tmp_path):
    rows = bar_rows(1400)
    rows[30] = rows[30].replace(",10.5,", ',"10.5,', 1)
    reader = read(write(tmp_path, HEAD + "".join(rows)), BARS, on_bad_row="skip")
    got = Chunk.concat(reader)
    assert len(got) == 1399 and reader.stats.skipped == 1
    assert reader.stats.files[0].by_kind == {"quote": 1}
    assert reader.stats.reasons[0].split(":")[1:3] == ["32", "5 (close)"]


# ----------------------------------------------------------------------------------------------
# repeated bars
# ----------------------------------------------------------------------------------------------


def test_duplicated_bar_row_stops_naming_both_lines(tmp_path):
    rows = bar_rows(5)
    path = write(tmp_path, HEAD + "".join([*rows[:3], rows[2], *rows[3:]]))
    err = failure(path)
    assert str(err).startswith(
        f"{path}:5:1 (ts): '2024-01-02 10:02' repeats the stamp of the"
        " bar at line 4 with the same values"
    )
    assert "duplicates: drop" in str(err)


def test_drop_policy_drops_identical_repeats_and_counts_them(tmp_path):
    rows = bar_rows(5)
    path = write(tmp_path, HEAD + "".join([*rows[:3], rows[2], rows[2], *rows[3:]]))
    reader = read(path, BARS, duplicates="drop", chunk_rows=2)
    got = Chunk.concat(reader)
    assert got.volume.tolist() == [0, 1, 2, 3, 4]  # volume not doubled
    stats = reader.stats.files[0]
    assert (stats.rows, stats.delivered, stats.duplicates, stats.skipped) == (7, 5, 2, 0)


def test_drop_policy_keeps_a_repeat_with_other_values_a_bad_row(tmp_path):
    rows = bar_rows(4)
    other = rows[1].replace(",11,", ",12,")
    path = write(tmp_path, HEAD + "".join([*rows[:2], other, *rows[2:]]))
    err = failure(path, duplicates="drop")
    assert (err.line, err.column, err.kind) == (4, 1, "duplicate")
    assert "with other values" in str(err)
    reader = read(path, BARS, duplicates="drop", on_bad_row="skip")
    assert len(Chunk.concat(reader)) == 4 and reader.stats.skipped == 1


def test_bar_repeated_at_the_start_of_the_next_file_names_the_first_file(tmp_path):
    rows = bar_rows(6)
    one = write(tmp_path, HEAD + "".join(rows[:3]), "a.csv")
    two = write(tmp_path, HEAD + "".join(rows[2:]), "b.csv")
    err = failure([one, two])
    assert str(err).startswith(f"{two}:2:1 (ts): ") and f"bar at {one}:4" in str(err)
    assert len(read_all([one, two], duplicates="drop")) == 6


def test_trades_may_share_a_stamp(tmp_path):
    layout = CsvLayout(kind="trades", columns={"ts": "ts", "price": "price"})
    path = write(tmp_path, "ts,price\n2024-01-02 10:00,1\n2024-01-02 10:00,1\n")
    assert len(read_all(path, layout)) == 2


# ----------------------------------------------------------------------------------------------
# header rows
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [HEAD, HEAD.rstrip("\n")], ids=["newline", "no newline"])
def test_header_only_file_yields_no_chunk(tmp_path, text):
    reader = read(write(tmp_path, text), BARS)
    assert list(reader) == [] and reader.stats.rows == 0


def test_headerless_file_read_with_a_header_expected_says_to_set_header_false(tmp_path):
    path = write(tmp_path, "".join(bar_rows(3)))
    err = failure(path, BY_INDEX)
    assert str(err).startswith(f"{path}:1: the header row looks like data ('2024-01-02 10:00'")
    assert "set header: false" in str(err)


def test_headerless_file_read_by_header_names_says_to_set_header_false(tmp_path):
    assert "set header: false" in str(failure(write(tmp_path, "".join(bar_rows(3)))))


@pytest.mark.parametrize("header", [True, False])
def test_header_auto_reads_files_with_and_without_a_header_row(tmp_path, header):
    auto = CsvLayout(kind="bars", columns=dict(BY_INDEX.columns), stamps="open", header="auto")
    text = (HEAD if header else "") + "".join(bar_rows(3))
    reader = read(write(tmp_path, text), auto)
    assert Chunk.concat(reader).volume.tolist() == [0, 1, 2]
    assert reader.stats.rows == 3


def test_header_auto_takes_a_first_row_with_a_bad_stamp_as_a_bad_row(tmp_path):
    auto = CsvLayout(kind="bars", columns=dict(BY_INDEX.columns), stamps="open", header="auto")
    path = write(tmp_path, "2024-13-02 10:00,10,11,9,10.5,1\n" + "".join(bar_rows(2, 1)))
    err = failure(path, auto)
    assert (err.line, err.column, err.kind) == (1, 1, "stamp")
