"""Figure builders: pure functions from frames to plotly figures, tested without a browser."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.tables import persons
from pipelines.declaration.registry import Registry

ACTUAL = "#1f4e79"
PLANNED = "#9aa5b1"


def progress_by_quarter(series: pd.DataFrame, registry: Registry) -> go.Figure:
    """Each targeted KPI by quarter (whole project) against its planned trajectory and target.

    `series` is kpis.series(): one row per KPI, country (None = whole project) and quarter.
    """
    targeted = [k for k in registry.kpis if k.target is not None]
    overall = series[series["country"].isna()]
    cols = 2
    rows = -(-len(targeted) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[k.label for k in targeted],
                        vertical_spacing=0.16, horizontal_spacing=0.08)
    for i, kpi in enumerate(targeted):
        row, col = i // cols + 1, i % cols + 1
        mine = overall[overall["id"] == kpi.id].sort_values("quarter")
        plan = sorted(kpi.trajectory.items())
        fig.add_trace(go.Scatter(
            x=[q for q, _ in plan], y=[v for _, v in plan], name="Planned", mode="lines",
            line={"color": PLANNED, "dash": "dash"}, legendgroup="planned", showlegend=i == 0,
            hovertemplate="%{x}: planned %{y:,.0f}<extra></extra>"), row=row, col=col)
        fig.add_trace(go.Scatter(
            x=mine["quarter"], y=mine["value"], name="Reported", mode="lines+markers",
            line={"color": ACTUAL, "width": 3}, legendgroup="actual", showlegend=i == 0,
            hovertemplate="%{x}: %{y:,.0f} " + kpi.unit + "<extra></extra>"), row=row, col=col)
    _target_lines(fig, [k.target for k in targeted])
    fig.update_xaxes(categoryorder="array", categoryarray=registry.quarters)
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        height=300 * rows + 40, margin={"l": 40, "r": 20, "t": 90, "b": 30},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.06, "x": 0}, plot_bgcolor="white",
        font={"family": "system-ui, sans-serif"}, hovermode="x unified",
    )
    fig.update_xaxes(showgrid=False, tickangle=-45)
    fig.update_yaxes(gridcolor="#e5e7eb")
    return fig


def _target_lines(fig: go.Figure, targets: list[float | None]) -> None:
    """A dotted line at each subplot's target (subplot i+1 for targets[i]), labelled, added in one
    layout update: fig.add_hline per subplot costs ~20 ms each."""
    shapes, notes = list(fig.layout.shapes), list(fig.layout.annotations)
    for i, target in enumerate(targets):
        if target is None:
            continue
        axis = "" if i == 0 else str(i + 1)
        shapes.append({"type": "line", "xref": f"x{axis} domain", "yref": f"y{axis}", "x0": 0,
                       "x1": 1, "y0": target, "y1": target,
                       "line": {"color": "#1a7f37", "dash": "dot", "width": 1}})
        notes.append({"text": f"target {target:,.0f}", "xref": f"x{axis} domain",
                      "yref": f"y{axis}", "x": 0, "y": target, "xanchor": "left",
                      "yanchor": "bottom", "showarrow": False})
    fig.update_layout(shapes=shapes, annotations=notes)


def _styled(fig: go.Figure, height: int, **layout) -> go.Figure:
    """The dashboard's look: white plot, system font, legend on top, room for the modebar."""
    fig.update_layout(**{
        "height": height, "margin": {"l": 40, "r": 30, "t": 40, "b": 30}, "plot_bgcolor": "white",
        "font": {"family": "system-ui, sans-serif"},
        # the legend below the chart: above it, it would run into the modebar on a phone
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}, **layout})
    return fig


MAP_SYMBOLS = {"achieved": "star", "on_track": "circle", "at_risk": "triangle-up",
               "off_track": "x", "no_target": "circle-open"}


LABEL_PLACES = ["middle right", "top center", "bottom center", "middle left"]


def label_positions(points: dict[str, tuple[float, float, str]]) -> dict[str, str]:
    """Where to put each map label so that it covers no other label or place: the first of
    LABEL_PLACES that is free, west to east. `points` maps a key to (lon, lat, label text); sizes
    are in degrees at the Countries map's zoom (about 13 px per degree, 7 px per character)."""
    def box(lon, lat, width, where):
        return {"middle right": (lon + 0.8, lon + 0.8 + width, lat - 0.5, lat + 0.5),
                "middle left": (lon - 0.8 - width, lon - 0.8, lat - 0.5, lat + 0.5),
                "top center": (lon - width / 2, lon + width / 2, lat + 0.6, lat + 1.6),
                "bottom center": (lon - width / 2, lon + width / 2, lat - 1.6, lat - 0.6)}[where]

    def free(a, others):
        return all(a[1] < b[0] or b[1] < a[0] or a[3] < b[2] or b[3] < a[2] for b in others)

    taken = [(lon - 0.6, lon + 0.6, lat - 0.5, lat + 0.5) for lon, lat, _ in points.values()]
    chosen = {}
    for key, (lon, lat, text) in sorted(points.items(), key=lambda kv: kv[1][0]):
        width = 0.55 * len(text)
        own = (lon - 0.6, lon + 0.6, lat - 0.5, lat + 0.5)
        where = next((w for w in LABEL_PLACES
                      if free(box(lon, lat, width, w), [t for t in taken if t != own])),
                     LABEL_PLACES[0])
        chosen[key] = where
        taken.append(box(lon, lat, width, where))
    return chosen


def country_map(statuses: pd.DataFrame, registry: Registry, title: str) -> go.Figure:
    """The countries at their council's place, coloured, shaped and labelled by status.

    `statuses` has one row per country: `country` (code) and `status` (a status_rule key). One
    trace per status, so the legend names each status in words with its symbol.
    """
    fig = go.Figure()
    places = {c.code: c for c in registry.countries}
    styles = registry.status_rule.statuses
    texts = {code: f"{code} {styles[s].symbol} {styles[s].label}"
             for code, s in zip(statuses["country"], statuses["status"], strict=True)}
    where = label_positions({code: (places[code].lon, places[code].lat, text)
                             for code, text in texts.items()})
    for status, style in styles.items():
        mine = statuses[statuses["status"] == status]
        if mine.empty:
            continue
        shown = [places[code] for code in mine["country"]]
        fig.add_trace(go.Scattergeo(
            lat=[c.lat for c in shown], lon=[c.lon for c in shown], mode="markers+text",
            name=f"{style.symbol} {style.label}", text=[texts[c.code] for c in shown],
            textposition=[where[c.code] for c in shown], textfont={"size": 12, "color": "#1f2933"},
            customdata=[c.code for c in shown],
            hovertext=[f"{c.name}, {c.place}: {style.label}" for c in shown], hoverinfo="text",
            marker={"size": 16, "color": style.colour, "symbol": MAP_SYMBOLS.get(status, "circle"),
                    "line": {"width": 1, "color": "#1f2933"}}))
    fig.update_geos(scope="europe", resolution=110, showcountries=True, countrycolor="#9aa5b1",
                    showland=True, landcolor="#eef2f6", showocean=True, oceancolor="#ffffff",
                    lonaxis_range=[-5, 35], lataxis_range=[36, 52], projection_type="mercator")
    return _styled(fig, 480, title={"text": title, "x": 0, "font": {"size": 14}},
                   margin={"l": 0, "r": 0, "t": 70, "b": 0})


def trend(series: pd.DataFrame, registry: Registry, kpi_id: str, as_of: str,
          projected: pd.DataFrame) -> go.Figure:
    """One KPI (whole project) by quarter up to `as_of`, its planned trajectory and target, and
    `projected` (projection.project) from `as_of` to the project's end, with its range where the
    backtest gives one."""
    kpi = registry.kpi(kpi_id)
    mine = series[series["country"].isna() & (series["id"] == kpi_id)
                  & (series["quarter"] <= as_of)].sort_values("quarter")
    fig = go.Figure()
    if kpi.trajectory:
        plan = sorted(kpi.trajectory.items())
        fig.add_trace(go.Scatter(x=[q for q, _ in plan], y=[v for _, v in plan], name="Planned",
                                 mode="lines", line={"color": PLANNED, "dash": "dash"},
                                 hovertemplate="%{x}: planned %{y:,.0f}<extra></extra>"))
    start = mine.iloc[-1]
    x = [start["quarter"], *projected["quarter"]]
    if (projected["high"] > projected["low"]).any():
        fig.add_trace(go.Scatter(x=x, y=[start["value"], *projected["high"]], mode="lines",
                                 line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=[start["value"], *projected["low"]], mode="lines",
                                 line={"width": 0}, fill="tonexty", fillcolor="rgba(31,78,121,.15)",
                                 name="Range of past errors", hoverinfo="skip"))
    if not projected.empty:
        fig.add_trace(go.Scatter(x=x, y=[start["value"], *projected["central"]], name="Projection",
                                 mode="lines+markers", line={"color": ACTUAL, "dash": "dot"},
                                 hovertemplate="%{x}: projected %{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=mine["quarter"], y=mine["value"], name="Reported",
                             mode="lines+markers", line={"color": ACTUAL, "width": 3},
                             hovertemplate="%{x}: %{y:,.0f} " + kpi.unit + "<extra></extra>"))
    _target_lines(fig, [kpi.target])
    fig.update_xaxes(categoryorder="array", categoryarray=registry.quarters, showgrid=False)
    fig.update_yaxes(rangemode="tozero", gridcolor="#e5e7eb", title=kpi.unit)
    return _styled(fig, 380, hovermode="x unified")


COUNTRY_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "star", "hexagon"]


def trend_by_country(series: pd.DataFrame, registry: Registry, kpi_id: str) -> go.Figure:
    """One line per country, each marked by its own symbol and labelled with its code at the end."""
    kpi = registry.kpi(kpi_id)
    fig = go.Figure()
    for i, country in enumerate(registry.countries):
        mine = series[(series["country"] == country.code) & (series["id"] == kpi_id)]
        mine = mine.sort_values("quarter")
        fig.add_trace(go.Scatter(
            x=mine["quarter"], y=mine["value"], name=f"{country.name} ({country.code})",
            mode="lines+markers+text", marker={"symbol": COUNTRY_SYMBOLS[i % len(COUNTRY_SYMBOLS)]},
            text=[""] * (len(mine) - 1) + [country.code], textposition="middle right",
            cliponaxis=False,
            hovertemplate=f"{country.name} %{{x}}: %{{y:,.0f}} {kpi.unit}<extra></extra>"))
    fig.update_xaxes(categoryorder="array", categoryarray=registry.quarters, showgrid=False)
    fig.update_yaxes(rangemode="tozero", gridcolor="#e5e7eb", title=kpi.unit)
    return _styled(fig, 420)


def _bars(values) -> tuple[list[int], list[str]]:
    """Bar lengths and labels of person counts: a count from 1 to 4 is an empty bar labelled "<5"
    (tables.persons), so that no small count can be read off the chart."""
    shown = [persons(v) for v in values]
    return ([v if isinstance(v, int) else 0 for v in shown],
            [f"{v:,}" if isinstance(v, int) else v for v in shown])


def breakdown(breakdown: pd.DataFrame) -> go.Figure:
    """A total by each of its breakdowns (tables.breakdown, e.g. by sex and by age bracket), one
    above the other so that they read on a phone too."""
    groups = list(dict.fromkeys(breakdown["by"]))
    sizes = [int((breakdown["by"] == g).sum()) for g in groups]
    fig = make_subplots(rows=max(len(groups), 1), cols=1, subplot_titles=[f"By {g}" for g in groups],
                        row_heights=sizes or None, vertical_spacing=0.16)
    for i, group in enumerate(groups, start=1):
        mine = breakdown[breakdown["by"] == group]
        lengths, labels = _bars(mine["count"])
        fig.add_trace(go.Bar(
            y=mine["category"], x=lengths, text=labels, textposition="auto", textangle=0,
            orientation="h", marker={"color": ACTUAL}, showlegend=False,
            hovertemplate="%{y}: %{text}<extra></extra>"), row=i, col=1)
        fig.update_yaxes(autorange="reversed", row=i, col=1)
    fig.update_xaxes(gridcolor="#e5e7eb", rangemode="tozero")
    return _styled(fig, 120 + 34 * sum(sizes), margin={"l": 40, "r": 20, "t": 40, "b": 30})


def by_category(frame: pd.DataFrame, value: str, unit: str) -> go.Figure:
    """A flow KPI per category of its first disaggregation (tables.by_category, summed over the
    others), largest on top."""
    first = frame.columns[0]
    totals = frame.groupby(first, sort=False)[value].sum().sort_values()
    lengths, labels = _bars(totals)
    fig = go.Figure(go.Bar(
        y=totals.index, x=lengths, orientation="h", marker={"color": ACTUAL}, text=labels,
        textposition="auto", textangle=0, hovertemplate=f"%{{y}}: %{{text}} {unit}<extra></extra>"))
    fig.update_xaxes(gridcolor="#e5e7eb", rangemode="tozero", title=value.lower())
    return _styled(fig, 80 + 40 * max(len(totals), 1), margin={"l": 40, "r": 20, "t": 40, "b": 40})
