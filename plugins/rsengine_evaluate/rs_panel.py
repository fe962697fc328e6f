"""The RS panel of one session (DOMAIN.md §3, as NinjaTrader's RS panel shows
it): every instrument's RS% from its prior close through the session, the
signals marked on the lines, the regime shaded behind them and $TICK beneath.

The panel is a data model built once from a capture (:func:`build_panel`) and
drawn by two renderers: :func:`plotly_figure` (a plotly figure, for the HTML
report and a live page; writing it anywhere is the caller's business) and
:func:`write_png` (matplotlib with the Agg backend: no browser, no display).
Both draw the same :class:`RSPanel`, so the figure and the PNG show the same
numbers. plotly and matplotlib are imported only by their renderer.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np
import pandas as pd

# line colours of the group names; other instruments take the cycle below
COLORS = {"ES": "#1f77b4", "NQ": "#d62728", "RTY": "#2ca02c", "YM": "#9467bd"}
CYCLE = ("#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#ff7f0e")
# shaded regimes; neutral and unknown are left unshaded
REGIME_COLORS = {"trend": "#2ca02c", "chop": "#7f7f7f", "event": "#ff7f0e"}
REGIME_WORDS = {"trend": "green", "chop": "grey", "event": "orange"}
REGIME_OPACITY = 0.12
KIND_SYMBOLS = {"context": "circle", "setup": "triangle", "exit": "x"}
TICK_LINES = (-1000.0, 0.0, 1000.0)  # the $TICK extremes and zero, drawn dotted


@attrs.frozen(eq=False)
class Line:
    """One instrument's RS% through the session (bars it traded in)."""

    symbol: str
    label: str  # "ES", or "MES (ES)" for a stand-in
    color: str
    ts: np.ndarray  # int64 ns UTC, bar closes
    rs_pct: np.ndarray  # float64


@attrs.frozen
class Marker:
    """One signal on the line of its instrument, at its own bar."""

    ts: int  # the bar's close (int64 ns UTC)
    symbol: str
    rs_pct: float  # the instrument's RS% at that bar (NaN: no line, drawn at 0)
    name: str
    kind: str  # context, setup or exit
    side: str
    text: str


@attrs.frozen
class RegimeSpan:
    """Consecutive slices with one regime: from the close of the first to the
    close of the first slice after them (the last span ends at the last slice)."""

    start: int
    end: int
    regime: str


@attrs.frozen(eq=False)
class TickPane:
    """The $TICK readings of the session, one per bar: close, high and low."""

    symbol: str
    ts: np.ndarray
    close: np.ndarray
    high: np.ndarray
    low: np.ndarray


@attrs.frozen(eq=False)
class RSPanel:
    """Everything the panel shows, renderer-neutral."""

    session: str  # ISO session date
    tz: str
    title: str
    lines: tuple  # Line
    markers: tuple  # Marker
    regimes: tuple  # RegimeSpan
    tick: TickPane | None
    rth_open: int  # 09:30 ET of the session, int64 ns UTC
    rth_close: int  # 16:00 ET, or the early close

    def local(self, ts) -> list:
        """Wall-clock times in the session timezone, ``YYYY-MM-DD HH:MM:SS``."""
        stamps = pd.to_datetime(np.asarray(ts, np.int64), utc=True).tz_convert(self.tz)
        return [t.strftime("%Y-%m-%d %H:%M:%S") for t in stamps]


def default_session(market, signals) -> str:
    """The session with the most trade signals (ties: the earliest); without
    any, the one with the most signals; without signals, the last session."""
    if not market.sessions:
        raise ValueError("the replay produced no bars: no session to show")
    for kinds in (("setup",), ("context", "setup", "exit")):
        counts = pd.Series([s.session_date for s in signals if s.kind in kinds], dtype=object)
        counts = counts[counts.isin(market.sessions)].value_counts()
        if len(counts):
            top = counts[counts == counts.max()]
            return min(top.index)
    return market.sessions[-1]


def _label(market, symbol) -> str:
    stands = market.stands_for.get(symbol)
    return f"{symbol} ({stands})" if stands else symbol


def _color(market, symbol, k) -> str:
    return COLORS.get(market.stands_for.get(symbol, symbol), CYCLE[k % len(CYCLE)])


def _marker_text(signal, label) -> str:
    clock = pd.Timestamp(signal.ts_close, unit="ns", tz="UTC")
    parts = [f"{signal.name} {signal.side} {label}", clock.strftime("%H:%M UTC")]
    if signal.kind == "setup" and signal.entry is not None:
        parts.append(f"entry {signal.entry:g} stop {signal.stop:g}")
        if signal.target is not None:
            parts[-1] += f" target {signal.target:g}"
        parts.append(f"{signal.contracts} contract(s)")
    if signal.kind == "exit" and isinstance(signal.details, dict):
        parts.append(f"exit {signal.details.get('exit', '')} at {signal.details.get('exit_price')}")
    return " | ".join(parts)


def build_panel(market, signals, session: str, title: str = "") -> RSPanel:
    """The panel of ``session`` (ISO date) from a capture's market and signals.

    Raises ``KeyError`` naming the first and last session when the date has
    no session in the data.
    """
    if session not in market.sessions:
        span = f"{market.sessions[0]} to {market.sessions[-1]}" if market.sessions else "none"
        raise KeyError(f"no session on {session} in the data (sessions: {span})")
    s = market.sessions.index(session)
    lines = []
    for k, symbol in enumerate(market.symbols):
        bars = market.bars[symbol]
        rows = bars.session == s
        rs = bars.rs_pct[rows]
        if not np.isfinite(rs).any():
            continue  # an internal, or no prior close yet
        lines.append(
            Line(
                symbol=symbol,
                label=_label(market, symbol),
                color=_color(market, symbol, k),
                ts=bars.ts_close[rows],
                rs_pct=rs,
            )
        )
    markers = []
    for sig in signals:
        if sig.session_date != session or sig.instrument not in market.bars:
            continue
        bars = market.bars[sig.instrument]
        i = int(bars.index_at(sig.ts_close))
        ts = int(bars.ts_close[i]) if i >= 0 else int(sig.ts_close)
        value = float(bars.rs_pct[i]) if i >= 0 else np.nan
        label = _label(market, sig.instrument)
        markers.append(
            Marker(
                ts, sig.instrument, value, sig.name, sig.kind, sig.side, _marker_text(sig, label)
            )
        )
    rth_close = int(market.rth_close[s])
    return RSPanel(
        session=session,
        tz=market.tz,
        title=title or f"RS panel {session}",
        lines=tuple(lines),
        markers=tuple(markers),
        regimes=_regime_spans(market, s),
        tick=_tick_pane(market, s),
        rth_open=int(pd.Timestamp(f"{session} 09:30", tz=market.tz).value),
        rth_close=rth_close,
    )


def _regime_spans(market, s) -> tuple:
    rows = np.flatnonzero(market.slice_session == s)
    ts, regime = market.slice_ts[rows], market.slice_regime[rows]
    if not len(ts):
        return ()
    starts = np.flatnonzero(np.r_[True, regime[1:] != regime[:-1]])
    ends = np.r_[starts[1:], len(ts) - 1]
    return tuple(
        RegimeSpan(int(ts[a]), int(ts[b]), str(regime[a]))
        for a, b in zip(starts, ends, strict=True)
    )


def _tick_pane(market, s) -> TickPane | None:
    if not market.tick_symbol:
        return None
    bars = market.bars[market.tick_symbol]
    rows = bars.session == s
    if not rows.any():
        return None
    return TickPane(
        market.tick_symbol, bars.ts_close[rows], bars.close[rows], bars.high[rows], bars.low[rows]
    )


def to_dict(panel: RSPanel) -> dict:
    """The panel as plain JSON-ready data (NaN as None): times as local text."""

    def values(a):
        return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, float)]

    return {
        "session": panel.session,
        "tz": panel.tz,
        "title": panel.title,
        "lines": [
            {
                "symbol": x.symbol,
                "label": x.label,
                "time": panel.local(x.ts),
                "rs_pct": values(x.rs_pct),
            }
            for x in panel.lines
        ],
        "markers": [
            {**attrs.asdict(m), "time": panel.local([m.ts])[0], "rs_pct": values([m.rs_pct])[0]}
            for m in panel.markers
        ],
        "regimes": [attrs.asdict(r) for r in panel.regimes],
        "tick": None
        if panel.tick is None
        else {
            "symbol": panel.tick.symbol,
            "time": panel.local(panel.tick.ts),
            "close": values(panel.tick.close),
        },
    }


# -- plotly ------------------------------------------------------------------------------


def _marker_groups(panel):
    """Markers grouped by kind, in kind order: (kind, [markers])."""
    for kind in KIND_SYMBOLS:
        group = [m for m in panel.markers if m.kind == kind]
        if group:
            yield kind, group


def _marker_symbol(m) -> str:
    base = KIND_SYMBOLS[m.kind]
    if base == "triangle":
        return "triangle-up" if m.side == "long" else "triangle-down"
    return base


def plotly_figure(panel: RSPanel):
    """The panel as a ``plotly.graph_objects.Figure`` (RS% above, $TICK
    beneath when the panel has it); the caller writes or serves it."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = 2 if panel.tick is not None else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05,
        row_heights=[0.72, 0.28] if rows == 2 else [1.0],
    )
    for line in panel.lines:
        fig.add_trace(
            go.Scatter(
                x=panel.local(line.ts),
                y=line.rs_pct.tolist(),
                mode="lines",
                name=line.label,
                line={"color": line.color, "width": 1.6},
                meta={"role": "rs", "symbol": line.symbol},
                hovertemplate=f"{line.label} %{{y:.3f}}%<extra></extra>",
            ),
            row=1,
            col=1,
        )
    colors = {x.symbol: x.color for x in panel.lines}
    for kind, group in _marker_groups(panel):
        fig.add_trace(
            go.Scatter(
                x=panel.local([m.ts for m in group]),
                y=[m.rs_pct if np.isfinite(m.rs_pct) else 0.0 for m in group],
                mode="markers",
                name=f"{kind} signals",
                marker={
                    "symbol": [_marker_symbol(m) for m in group],
                    "size": 11,
                    "color": [colors.get(m.symbol, "#000000") for m in group],
                    "line": {"color": "#000000", "width": 1},
                },
                text=[m.text for m in group],
                customdata=[[m.name, m.symbol, m.side] for m in group],
                meta={"role": "signals", "kind": kind},
                hovertemplate="%{text}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    if panel.tick is not None:
        fig.add_trace(
            go.Scatter(
                x=panel.local(panel.tick.ts),
                y=panel.tick.close.tolist(),
                mode="lines",
                name=panel.tick.symbol,
                line={"color": "#444444", "width": 1},
                meta={"role": "tick", "symbol": panel.tick.symbol},
            ),
            row=2,
            col=1,
        )
        for level in TICK_LINES:
            fig.add_hline(
                y=level, line={"dash": "dot", "width": 1, "color": "#999999"}, row=2, col=1
            )
        fig.update_yaxes(title_text=panel.tick.symbol, row=2, col=1)
    # without an RS value (no prior close yet) the pane has no x range: plotly
    # cannot place a zero line or shading there
    has_rs = any(np.isfinite(line.rs_pct).any() for line in panel.lines)
    if has_rs:
        fig.add_hline(y=0, line={"width": 1, "color": "#999999"}, row=1, col=1)
    shapes = []
    for span in panel.regimes if has_rs else ():
        if span.regime in REGIME_COLORS:
            start, end = panel.local([span.start, span.end])
            shapes.append(
                {
                    "type": "rect",
                    "xref": "x",
                    "yref": "paper",
                    "x0": start,
                    "x1": end,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": REGIME_COLORS[span.regime],
                    "opacity": REGIME_OPACITY,
                    "layer": "below",
                    "line": {"width": 0},
                    "name": span.regime,
                }
            )
    # the regime rectangles after the zero lines, each across both panes
    fig.update_layout(shapes=[*fig.layout.shapes, *shapes])
    shaded = ", ".join(f"{r} {REGIME_WORDS[r]}" for r in REGIME_COLORS)
    fig.update_yaxes(title_text="RS % from the prior close", row=1, col=1)
    fig.update_layout(
        title={"text": f"{panel.title}<br><sup>regime shading: {shaded}; times {panel.tz}</sup>"},
        height=640 if rows == 2 else 480,
        hovermode="closest",
        legend={"orientation": "h", "y": -0.12},
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
        template="plotly_white",
    )
    return fig


# -- matplotlib (PNG) ---------------------------------------------------------------------

MPL_MARKERS = {"circle": "o", "triangle-up": "^", "triangle-down": "v", "x": "X"}


def write_png(panel: RSPanel, path, width: int = 1400, height: int = 800, dpi: int = 100) -> Path:
    """The panel as a ``width`` x ``height`` pixel PNG at ``path`` (Agg)."""
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def times(ts):
        return pd.to_datetime(panel.local(ts)).to_pydatetime()

    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    if panel.tick is not None:
        grid = fig.add_gridspec(2, 1, height_ratios=[0.72, 0.28], hspace=0.08)
        ax = fig.add_subplot(grid[0])
        tick_ax = fig.add_subplot(grid[1], sharex=ax)
        axes = (ax, tick_ax)
    else:
        ax, tick_ax = fig.add_subplot(1, 1, 1), None
        axes = (ax,)
    for span in panel.regimes:
        if span.regime in REGIME_COLORS:
            start, end = times([span.start, span.end])
            for a in axes:
                a.axvspan(start, end, color=REGIME_COLORS[span.regime], alpha=REGIME_OPACITY, lw=0)
    ax.axhline(0, color="#999999", lw=0.8)
    for line in panel.lines:
        ax.plot(times(line.ts), line.rs_pct, color=line.color, lw=1.3, label=line.label)
    colors = {x.symbol: x.color for x in panel.lines}
    for m in panel.markers:
        y = m.rs_pct if np.isfinite(m.rs_pct) else 0.0
        ax.scatter(
            times([m.ts]),
            [y],
            marker=MPL_MARKERS[_marker_symbol(m)],
            s=70,
            color=colors.get(m.symbol, "#000000"),
            edgecolors="#000000",
            linewidths=0.7,
            zorder=3,
        )
        ax.annotate(
            m.name, (times([m.ts])[0], y), fontsize=7, xytext=(4, 4), textcoords="offset points"
        )
    ax.set_ylabel("RS % from the prior close")
    ax.set_title(f"{panel.title} (times {panel.tz})")
    if panel.lines:
        ax.legend(loc="upper left", fontsize=8, ncol=min(len(panel.lines), 6))
    if tick_ax is not None:
        tick_ax.plot(times(panel.tick.ts), panel.tick.close, color="#444444", lw=0.9)
        for level in TICK_LINES:
            tick_ax.axhline(level, color="#999999", lw=0.7, ls=":")
        tick_ax.set_ylabel(panel.tick.symbol)
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    for a in axes[:-1]:
        a.tick_params(labelbottom=False)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.93, bottom=0.07)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi)
    return path


def write_panel(panel: RSPanel, path, width: int = 1400, height: int = 800) -> Path:
    """Write the panel by the file's suffix: ``.png`` (:func:`write_png`),
    ``.html`` (the plotly figure, its JavaScript inlined) or ``.json``
    (:func:`to_dict`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        return write_png(panel, path, width, height)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".html":
        plotly_figure(panel).write_html(path, include_plotlyjs=True, div_id="rs-panel")
    elif suffix == ".json":
        text = json.dumps(to_dict(panel), sort_keys=True, indent=1, allow_nan=False)
        path.write_text(text + "\n", encoding="utf-8")
    else:
        raise ValueError(f"{path}: expected a .png, .html or .json file")
    return path
