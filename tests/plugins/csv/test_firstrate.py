"""The firstratedata preset against an independent pandas read, with and without a
header row: real ES 1-minute bars rewritten in FirstRate Data's layout."""

import numpy as np
import pandas as pd
import pytest
from rsengine_csv.reader import Chunk, CsvLayout, read

LEAN_ES = "lean-es-spy-1m-2013-10/ES_minute_trade_all_contracts.csv"
FIELDS = ["timestamp", "open", "high", "low", "close", "volume"]


def firstrate_file(tmp_path, shared_data, header: bool):
    """ES201312 as FirstRate writes it: Eastern wall time without offset, OHLCV."""
    frame = pd.read_csv(shared_data / LEAN_ES)
    frame = frame[frame["contract"] == "ES201312"]
    out = frame[["open", "high", "low", "close", "volume"]].copy()
    out.insert(0, "timestamp", frame["ts_et"].str.slice(0, 19))  # drop the -04:00
    path = tmp_path / f"ES_1min_{'header' if header else 'bare'}.txt"
    out.to_csv(path, index=False, header=header)
    return path


def pandas_bars(path, header: bool) -> pd.DataFrame:
    frame = pd.read_csv(path, header=0 if header else None, names=FIELDS)
    stamps = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S")
    frame["ts"] = stamps.dt.tz_localize("America/New_York").dt.tz_convert("UTC")
    return frame


@pytest.mark.realdata
@pytest.mark.parametrize("header", [False, True], ids=["no header", "header"])
def test_firstratedata_preset_matches_pandas(tmp_path, shared_data, header):
    path = firstrate_file(tmp_path, shared_data, header)
    reader = read(path, CsvLayout.preset("firstratedata"))
    got = Chunk.concat(reader)
    want = pandas_bars(path, header)
    assert len(got) == len(want) == reader.stats.delivered > 5000
    assert reader.stats.skipped == 0
    np.testing.assert_array_equal(got.ts, want["ts"].dt.as_unit("ns").astype("int64"))
    for field in FIELDS[1:]:
        np.testing.assert_array_equal(getattr(got, field), want[field].to_numpy(np.float64))
    assert got.stamps == "open"


@pytest.mark.parametrize(
    "header", ["", "timestamp,open,high,low,close,volume\n"], ids=["no header", "header"]
)
def test_firstratedata_reads_the_documented_line(tmp_path, header):
    path = tmp_path / "NQ_1min.txt"
    path.write_text(header + "2024-03-01 09:30:00,5100.25,5101.0,5099.5,5100.75,1234\n")
    got = Chunk.concat(read(path, CsvLayout.preset("firstratedata")))
    assert got.ts.tolist() == [pd.Timestamp("2024-03-01 14:30", tz="UTC").value]
    assert (got.open[0], got.high[0], got.low[0], got.close[0], got.volume[0]) == (
        5100.25,
        5101.0,
        5099.5,
        5100.75,
        1234,
    )
