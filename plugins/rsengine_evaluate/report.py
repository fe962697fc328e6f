"""The evaluation's HTML report: one self-contained file (plotly's JavaScript
inlined, nothing fetched when it opens).

Sections: the tests against chance (table and chart: observed with its
interval, the baseline's band), the trades per setup with each setup's equity
curve against its baseline's, the distribution of forward returns per signal
at each horizon, a calendar of when signals fired, and the RS panel of one
session (:mod:`.rs_panel`). Every chart is drawn from the same
:class:`~.result.Evaluation` fields its table shows; table cells carry the
exact value in ``data-value`` beside the rounded text. The same inputs give
the same bytes (fixed element ids, no time stamps).

Figure builders (``*_figure``) return plotly figures; :func:`report_html`
puts them in the page and :func:`write_report` writes it.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from . import rs_panel

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
# the charts of the tests against chance: metric, title, unit, element id
CHANCE_CHARTS = (
    ("forward_pct", "Forward returns against chance", "mean signed %", "chance-forward"),
    ("trade_usd", "Trades against chance", "mean net $ per contract", "chance-trades"),
)
CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1280px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
tr.significant td { background: #eaf6ea; }
.note { color: #555; font-size: 0.9em; }
"""


# -- helpers -----------------------------------------------------------------------------


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _cell(value, fmt="{:.4f}") -> str:
    """A table cell: text columns left, numbers rounded with the exact value kept."""
    if isinstance(value, bool):
        return f'<td data-value="{str(value).lower()}">{"yes" if value else ""}</td>'
    if isinstance(value, str):
        return f'<td class="text">{html.escape(value)}</td>'
    if isinstance(value, (int, np.integer)):
        return f'<td data-value="{int(value)}">{int(value)}</td>'
    if not _finite(value):
        return '<td data-value="">-</td>'
    return f'<td data-value="{float(value)!r}">{fmt.format(value)}</td>'


def _table(table_id, header, rows, row_class=None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{row_class(k)}"' if row_class and row_class(k) else ""
        body.append(f"<tr{cls}>{''.join(row)}</tr>")
    rows_html = "".join(body)
    return (
        f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>'
    )


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _local(ts, tz) -> list:
    stamps = pd.to_datetime(np.asarray(ts, np.int64), utc=True).tz_convert(tz)
    return [t.strftime("%Y-%m-%d %H:%M:%S") for t in stamps]


def _values(seq) -> list:
    return [float(v) if _finite(v) else None for v in seq]


# -- figures ---------------------------------------------------------------------------------


def chance_label(t) -> str:
    return f"{t.name} {t.horizon}".strip()


def chance_figure(tests, metric: str, title: str, unit: str):
    """Each test of ``metric``: observed with its bootstrap interval, and the
    baseline's mean with its 5-95 % band."""
    import plotly.graph_objects as go

    tests = [t for t in tests if t.metric == metric]
    x = [chance_label(t) for t in tests]

    def bars(centre, low, high):
        return {
            "type": "data",
            "symmetric": False,
            "array": [h - c if _finite(h) else 0.0 for c, h in zip(centre, high, strict=True)],
            "arrayminus": [
                c - lo if _finite(lo) else 0.0 for c, lo in zip(centre, low, strict=True)
            ],
        }

    observed = [t.observed for t in tests]
    base = [t.baseline_mean for t in tests]
    fig = go.Figure(
        [
            go.Scatter(
                x=x,
                y=base,
                mode="markers",
                name="baseline mean, 5-95 % band",
                marker={"color": "#999999", "symbol": "line-ew-open", "size": 14},
                error_y={
                    **bars(base, [t.baseline_low for t in tests], [t.baseline_high for t in tests]),
                    "color": "#bbbbbb",
                    "thickness": 6,
                    "width": 0,
                },
                meta={"role": "baseline"},
            ),
            go.Scatter(
                x=x,
                y=observed,
                mode="markers",
                name="observed, bootstrap CI",
                marker={
                    "color": ["#2ca02c" if t.significant else "#1f77b4" for t in tests],
                    "size": 9,
                },
                error_y={
                    **bars(observed, [t.ci_low for t in tests], [t.ci_high for t in tests]),
                    "color": "#1f77b4",
                },
                customdata=[[t.percentile, t.p_value, t.q_value, t.n] for t in tests],
                hovertemplate="%{x}: %{y:.4f}<br>percentile %{customdata[0]:.1f}, "
                "p %{customdata[1]:.3f}, q %{customdata[2]:.3f}, n %{customdata[3]}<extra></extra>",
                meta={"role": "observed"},
            ),
        ]
    )
    fig.add_hline(y=0, line={"width": 1, "color": "#666666"})
    fig.update_layout(
        title=title, yaxis_title=unit, template="plotly_white", height=460, margin={"b": 140}
    )
    return fig


def equity_figure(curve, tz):
    """A setup's running net $ per contract (the engine's exits) against its
    baseline's mean and band, and its entries followed by their bracket to
    the session end as the test follows them and the baseline's entries."""
    import plotly.graph_objects as go

    x = _local(curve.entry_ts, tz)

    def line(role, y, name, **style):
        return go.Scatter(x=x, y=list(y), name=name, meta={"role": role}, **style)

    band = {"mode": "lines", "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"}
    grey = "rgba(150,150,150,0.25)"
    fig = go.Figure(
        [
            line("baseline_high", curve.baseline_high, "baseline 95th percentile", **band),
            line("baseline_low", curve.baseline_low, "baseline 5th percentile", **band),
            line(
                "baseline_mean",
                curve.baseline_mean,
                "baseline mean (5-95 % band)",
                mode="lines",
                line={"color": "#888888", "dash": "dash"},
            ),
            line(
                "bracket",
                curve.bracket_cumulative,
                f"{curve.name} entries by their bracket (as tested)",
                mode="lines",
                line={"color": "#ff7f0e", "dash": "dot"},
            ),
            line(
                "equity",
                curve.cumulative,
                curve.name,
                mode="lines+markers",
                line={"color": "#1f77b4"},
                marker={"size": 5},
                customdata=list(curve.net_usd),
                hovertemplate="%{x}<br>running %{y:.2f} $ "
                "(this trade %{customdata:.2f} $)<extra></extra>",
            ),
        ]
    )
    fig.data[1].update(fill="tonexty", fillcolor=grey)
    fig.update_layout(
        title=f"{curve.name}: cumulative net $ per contract, trade by trade, "
        "against matched random entries",
        yaxis_title="$ per contract",
        template="plotly_white",
        height=380,
    )
    return fig


def forward_figure(signals, horizon_index: int, label: str):
    """Per signal name, the signed % forward returns at one horizon (box, mean
    dashed; every signal with a return at that horizon)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name in sorted({s.name for s in signals}):
        y = [
            s.pct[horizon_index]
            for s in signals
            if s.name == name and _finite(s.pct[horizon_index])
        ]
        if y:
            fig.add_trace(
                go.Box(
                    y=y,
                    name=name,
                    boxmean=True,
                    boxpoints="outliers",
                    meta={"role": "forward", "name": name},
                )
            )
    fig.update_layout(
        title=f"Forward returns to {label}, % (signed by the signal's side; flat signals unsigned)",
        yaxis_title="%",
        template="plotly_white",
        showlegend=False,
        height=420,
    )
    return fig


def calendar_counts(signals, sessions):
    """(names, sessions, counts[name][session]) of the scored signals."""
    names = sorted({s.name for s in signals})
    count = Counter((s.name, s.session_date) for s in signals)
    return names, list(sessions), [[count[n, d] for d in sessions] for n in names]


def calendar_figure(signals, sessions):
    """Sessions across, signal names down: how many of each fired that session."""
    import plotly.graph_objects as go

    names, days, z = calendar_counts(signals, sessions)
    fig = go.Figure(
        go.Heatmap(
            x=days,
            y=names,
            z=z,
            colorscale=[[0, "#ffffff"], [0.001, "#deebf7"], [1, "#08519c"]],
            xgap=1,
            ygap=1,
            hovertemplate="%{x} %{y}: %{z}<extra></extra>",
            meta={"role": "calendar"},
        )
    )
    fig.update_layout(
        title="When signals fired: signals per session",
        template="plotly_white",
        height=max(260, 28 * len(names) + 140),
        xaxis={"type": "category", "nticks": 24},
        margin={"l": 170},
    )
    return fig


# -- tables -------------------------------------------------------------------------------------


# table columns: (header, attribute, number format)
TEST_COLUMNS = (
    ("signal", "name", None),
    ("metric", "metric", None),
    ("horizon", "horizon", None),
    ("n", "n", None),
    ("sessions", "sessions", None),
    ("observed", "observed", "{:.4f}"),
    ("CI low", "ci_low", "{:.4f}"),
    ("CI high", "ci_high", "{:.4f}"),
    ("hit rate", "hit_rate", "{:.3f}"),
    ("baseline mean", "baseline_mean", "{:.4f}"),
    ("baseline 5 %", "baseline_low", "{:.4f}"),
    ("baseline 95 %", "baseline_high", "{:.4f}"),
    ("percentile", "percentile", "{:.1f}"),
    ("p", "p_value", "{:.4f}"),
    ("BH q", "q_value", "{:.4f}"),
    ("significant", "significant", None),
)
TRADE_COLUMNS = (
    ("setup", "name", None),
    ("n", "n", None),
    ("sessions", "sessions", None),
    ("hit rate", "hit_rate", "{:.3f}"),
    ("exp. points", "expectancy_points", "{:.2f}"),
    ("exp. $", "expectancy_usd", "{:.2f}"),
    ("profit factor", "profit_factor", "{:.2f}"),
    ("MFE", "mean_mfe_points", "{:.2f}"),
    ("MAE", "mean_mae_points", "{:.2f}"),
    ("hold min", "mean_hold_minutes", "{:.1f}"),
)
FORWARD_COLUMNS = (
    ("signal", "name", None),
    ("horizon", "horizon", None),
    ("n", "n", None),
    ("sessions", "sessions", None),
    ("mean points", "mean_points", "{:.3f}"),
    ("mean %", "mean_pct", "{:.4f}"),
    ("mean ATR", "mean_atr", "{:.3f}"),
    ("n ATR", "n_atr", None),
    ("hit rate", "hit_rate", "{:.3f}"),
    ("signed", "signed", None),
)


def records_table(table_id, columns, records, row_class=None) -> str:
    """One row per record, one cell per ``columns`` entry."""
    rows = [
        [
            _cell(getattr(r, attr)) if fmt is None else _cell(getattr(r, attr), fmt)
            for _, attr, fmt in columns
        ]
        for r in records
    ]
    return _table(table_id, [h for h, _, _ in columns], rows, row_class)


def tests_table(tests) -> str:
    significant = lambda k: "significant" if tests[k].significant else ""  # noqa: E731
    return records_table("tests-table", TEST_COLUMNS, tests, significant)


def trades_table(rows) -> str:
    return records_table("trades-table", TRADE_COLUMNS, rows)


def trade_list(curve, records, tz) -> str:
    by_id = {r.id: r for r in records}
    header = [
        "#",
        "entry (local)",
        "instrument",
        "side",
        "entry",
        "exit",
        "rule",
        "net points",
        "net $",
        "running $",
    ]
    rows = []
    for k, (tid, ts, usd, run) in enumerate(
        zip(curve.trade_ids, curve.entry_ts, curve.net_usd, curve.cumulative, strict=True)
    ):
        r = by_id[tid]
        rows.append(
            [
                _cell(k + 1),
                _cell(_local([ts], tz)[0]),
                _cell(r.instrument),
                _cell(r.side),
                _cell(r.entry, "{:g}"),
                _cell(r.exit_price, "{:g}"),
                _cell(r.exit_rule),
                _cell(r.net_points, "{:.2f}"),
                _cell(usd, "{:.2f}"),
                _cell(run, "{:.2f}"),
            ]
        )
    return _table(f"trades-{slug(curve.name)}", header, rows)


def forward_table(forward) -> str:
    rows = [r for r in forward if r.breakdown == "setup"]
    return records_table("forward-table", FORWARD_COLUMNS, rows)


def calendar_table(signals, sessions) -> str:
    names, _, z = calendar_counts(signals, sessions)
    kinds = {s.name: s.kind for s in signals}
    rows = [
        [_cell(n), _cell(kinds[n]), _cell(int(sum(row))), _cell(int(sum(1 for v in row if v)))]
        for n, row in zip(names, z, strict=True)
    ]
    return _table("calendar-table", ["signal", "kind", "signals", "sessions fired"], rows)


def panel_table(panel) -> str:
    rows = [
        [_cell(t), _cell(m.name), _cell(m.kind), _cell(m.symbol), _cell(m.side), _cell(m.rs_pct)]
        for m, t in zip(panel.markers, panel.local([m.ts for m in panel.markers]), strict=True)
    ]
    return _table(
        "panel-table",
        ["bar (local)", "signal", "kind", "instrument", "side", "RS % at the bar"],
        rows,
    )


# -- the page -----------------------------------------------------------------------------------


def _figure_div(fig, div_id: str) -> str:
    import plotly.io as pio

    return pio.to_html(
        fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG
    )


def report_html(evaluation, panel=None, tz: str = "America/New_York") -> str:
    """The whole page as text. ``panel``: the :class:`~.rs_panel.RSPanel` to show."""
    from plotly.offline import get_plotlyjs

    e, s = evaluation, evaluation.settings
    esc = html.escape
    parts = [
        f"<h1>Evaluation of {esc(e.config)}</h1>",
        f"<p>{e.sessions} sessions, {esc(e.first_session)} to {esc(e.last_session)}"
        f"{'; data: ' + esc(e.data) if e.data else ''}. Signals: "
        + esc(", ".join(f"{v} {k}" for k, v in e.counts.items()))
        + ".</p>",
        f'<p class="note">Baseline: {s.draws} matched random draws (same instrument, session, '
        f"time-of-day bucket and side); bootstrap: {s.resamples} session resamples, "
        f"{s.confidence:.0%} percentile intervals; Benjamini-Hochberg over {e.trials} tests, "
        f"significant at q &lt; {s.alpha}; seed {s.seed}. Trades after "
        f"{s.slippage_ticks:g} tick(s) slippage a side and commission "
        + esc(", ".join(f"{r} ${c:g}" for r, c in s.commission.items()) or "none")
        + " per contract per side.</p>",
        *(f'<p class="note">Note: {esc(n)}</p>' for n in e.notes),
        "<h2>Against chance</h2>",
        '<p class="note">forward_pct: mean signed % forward return; '
        "trade_usd: mean net $ per contract. percentile: of the observed mean "
        "among the baseline's means; p one-sided; q after "
        "Benjamini-Hochberg. Green rows are significant.</p>",
        tests_table(e.tests),
    ]
    for metric, title, unit, div_id in CHANCE_CHARTS:
        if any(t.metric == metric for t in e.tests):
            parts.append(_figure_div(chance_figure(e.tests, metric, title, unit), div_id))
    setup_rows = [r for r in e.trades if r.breakdown == "setup"]
    if setup_rows:
        parts += [
            "<h2>Trades</h2>",
            '<p class="note">After costs, one contract, the engine\'s exits. In each chart '
            "the dotted curve follows the same entries by their bracket to the session end, as "
            "the test against chance and its random entries (the grey band) do.</p>",
            trades_table(setup_rows),
        ]
        for curve in e.equity:
            parts.append(_figure_div(equity_figure(curve, tz), f"equity-{slug(curve.name)}"))
            listed = trade_list(curve, e.trade_records, tz)
            summary = f"<summary>{esc(curve.name)}: every trade</summary>"
            parts.append(f"<details>{summary}{listed}</details>")
    parts += ["<h2>Forward returns</h2>", forward_table(e.forward)]
    for k, label in enumerate(s.horizons):
        parts.append(_figure_div(forward_figure(e.signals, k, label), f"forward-{slug(label)}"))
    dates = sorted({x.session_date for x in e.signals})
    parts += ["<h2>When signals fired</h2>", calendar_table(e.signals, dates)]
    if dates:
        parts.append(_figure_div(calendar_figure(e.signals, dates), "calendar"))
    if panel is not None:
        parts += [
            f"<h2>RS panel {esc(panel.session)}</h2>",
            '<p class="note">RS % of every instrument from its prior close; '
            "markers: circles context, triangles trade entries (up long, down short), "
            "crosses exits; shading: regime.</p>",
            _figure_div(rs_panel.plotly_figure(panel), "rs-panel"),
            panel_table(panel),
        ]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>rsengine evaluation: {esc(e.config)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>\n'
        f"<body>\n{body}\n</body></html>\n"
    )


def write_report(evaluation, path, panel=None, tz: str = "America/New_York") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html(evaluation, panel, tz), encoding="utf-8")
    return path
