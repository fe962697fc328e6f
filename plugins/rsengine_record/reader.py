"""Reading a record's bars back with pandas, whatever their format."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PARTITIONS = ("session_month", "session_date")  # Parquet's, not recorded columns


def read_bars(folder) -> pd.DataFrame:
    """The bars of the record in ``folder`` (the output's ``dir``) as one
    DataFrame: the recorded columns in their order, ``ts_open``/``ts_close``
    as ``datetime64[ns, UTC]``. From Parquet every column has the type it was
    written with; from ``bars.csv`` the others are as pandas reads them (an
    empty field NaN, booleans ``1``/``0``, text such as ``NA`` kept as text)."""
    folder = Path(folder)
    if (folder / "bars").is_dir():
        frame = pd.read_parquet(folder / "bars")
        return frame.drop(columns=[c for c in PARTITIONS if c in frame.columns])
    path = folder / "bars.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no bars/ (Parquet) or bars.csv in the folder")
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], low_memory=False)
    for name in ("ts_open", "ts_close"):
        frame[name] = pd.to_datetime(frame[name], utc=True).astype("datetime64[ns, UTC]")
    return frame
