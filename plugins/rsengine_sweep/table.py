"""The sweep's results: one row per point, as CSV, Parquet and a Markdown report.

Columns: ``point`` (0, 1, ...), the point's parameters (the grid keys, then
the shard's ``start`` and ``end``), then :data:`~.point.HEAD`, a
``signals.NAME`` count per signal name any point emitted, the summary's
metrics (``trades.entries``, ``premarket_read.hit_rate``, ...) and
:data:`~.point.TAIL`. A signal count a point did not emit is 0; a figure a
point lacks (it failed, or no plugin of it reports that metric) is empty.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .grid import param_text
from .point import HEAD, TAIL

CSV_NAME, PARQUET_NAME, REPORT_NAME = "results.csv", "results.parquet", "report.md"
REPORT_COLUMNS = ("status", "bars", "signals", "trades.entries", "exits.pnl_usd", "exits.won")


def merge(points, rows: list[dict]) -> tuple[list[str], list[dict]]:
    """The table's columns and its rows, in point order."""
    params = list(dict.fromkeys(name for p in points for name, _ in p.params))
    fixed = {*HEAD, *TAIL}
    found = sorted({k for row in rows for k in row if k not in fixed})
    counts = [k for k in found if k.startswith("signals.")]
    metrics = [k for k in found if not k.startswith("signals.")]
    columns = ["point", *params, *HEAD, *counts, *metrics, *TAIL]
    table = []
    for point, row in zip(points, rows, strict=True):
        ok = row.get("bars") is not None
        out = {"point": point.index, **{k: param_text(v) for k, v in point.params}}
        for column in columns[len(params) + 1 :]:
            default = 0 if ok and column.startswith("signals.") else None
            out[column] = row.get(column, default)
        table.append(out)
    return columns, table


def write_csv(path: Path, columns: list[str], table: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in table:
            writer.writerow(["" if row[c] is None else _cell(row[c]) for c in columns])
    return path


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def write_parquet(path: Path, columns: list[str], table: list[dict]) -> Path | None:
    """The table as Parquet, when pyarrow is importable (None otherwise); a
    column of mixed kinds is stored as text."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    arrays = {}
    for column in columns:
        values = [row[column] for row in table]
        kinds = {type(v) for v in values if v is not None}
        if kinds == {int, float}:
            values = [None if v is None else float(v) for v in values]
        elif len(kinds) > 1:
            values = [None if v is None else _cell(v) for v in values]
        arrays[column] = pa.array(values)
    pq.write_table(pa.table(arrays), path)
    return path


def write_report(path: Path, title: str, columns: list[str], table: list[dict], files) -> Path:
    """A short Markdown page: how many points ran, a table of the main
    figures and every failed point with its parameters and error."""
    params = columns[1 : columns.index(HEAD[0])]
    shown = [c for c in (*params, *REPORT_COLUMNS) if c in columns]
    failed = [row for row in table if row["status"] != "ok"]
    cores = sorted({row["core"] for row in table if row.get("core")})
    lines = [
        f"# {title}",
        "",
        f"{len(table)} points, {len(table) - len(failed)} ok, {len(failed)} failed; "
        f"core: {', '.join(cores) or '-'}.",
        "",
        "| point | " + " | ".join(shown) + " |",
        "|---:|" + "|".join("---:" for _ in shown) + "|",
    ]
    for row in table:
        cells = ["" if row[c] is None else _cell(row[c]) for c in shown]
        lines.append(f"| {row['point']} | " + " | ".join(cells) + " |")
    if failed:
        lines += ["", "## Failed points", ""]
        for row in failed:
            where = ", ".join(f"{p}={row[p]}" for p in params)
            error = str(row["error"]).replace("\n", "; ")
            lines.append(f"- point {row['point']} ({where}): {error}")
    lines += ["", "Files: " + ", ".join(f"`{Path(f).name}`" for f in files) + "."]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_results(out: Path, title: str, points, rows: list[dict]) -> list[Path]:
    """results.csv, results.parquet (with pyarrow) and report.md in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    columns, table = merge(points, rows)
    files = [write_csv(out / CSV_NAME, columns, table)]
    parquet = write_parquet(out / PARQUET_NAME, columns, table)
    if parquet is not None:
        files.append(parquet)
    files.append(write_report(out / REPORT_NAME, title, columns, table, files))
    return files
