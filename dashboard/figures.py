"""Figure builders: pure functions from frames to plotly figures, tested without a browser."""

from __future__ import annotations

import math
import textwrap

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import i18n
from dashboard.i18n import _
from dashboard.tables import persons
from pipelines.declaration import registry as declaration
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
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_wrapped(i18n.kpi(k)) for k in targeted],
                        vertical_spacing=0.2, horizontal_spacing=0.1)
    for i, kpi in enumerate(targeted):
        row, col = i // cols + 1, i % cols + 1
        mine = overall[overall["id"] == kpi.id].sort_values("quarter")
        plan = sorted(kpi.trajectory.items())
        fig.add_trace(go.Scatter(
            x=[q for q, _v in plan], y=[v for _q, v in plan], name=_("Planned"), mode="lines",
            line={"color": PLANNED, "dash": "dash"}, legendgroup="planned", showlegend=i == 0,
            hovertemplate=_planned()), row=row, col=col)
        fig.add_trace(go.Scatter(
            x=mine["quarter"], y=mine["value"], name=_("Reported"), mode="lines+markers",
            line={"color": ACTUAL, "width": 3}, legendgroup="actual", showlegend=i == 0,
            hovertemplate=_reported(kpi)), row=row, col=col)
    fig.update_annotations(font={"size": 13})  # the subplot titles
    _target_lines(fig, [k.target for k in targeted])
    _quarter_ticks(fig, registry)
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(
        height=320 * rows + 40, margin={"l": 40, "r": 20, "t": 100, "b": 30},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.1, "x": 0}, plot_bgcolor="white",
        font={"family": "system-ui, sans-serif"}, hovermode="x unified", separators=_separators(),
    )
    fig.update_xaxes(tickangle=-45)
    fig.update_yaxes(gridcolor="#e5e7eb")
    return fig


def _separators() -> str:
    """The reader's decimal and thousands separators, for plotly's numbers (axes, hover texts)."""
    return "".join(i18n.separators())


def _planned() -> str:
    """A planned trajectory's hover text: "2022-Q4: planned 450,000"."""
    return _("{quarter}: planned {value}", quarter="%{x}", value="%{y:,.0f}") + "<extra></extra>"


def _reported(kpi) -> str:
    """A reported value's hover text, with the KPI's unit: "2022-Q4: 356,720 migrants"."""
    return f"%{{x}}: %{{y:,.0f}} {i18n.kpi(kpi, 'unit')}<extra></extra>"


def _wrapped(title: str, width: int = 16) -> str:
    """A subplot's title in lines of about `width` characters, so that two side by side fit a phone."""
    return "<br>".join(textwrap.wrap(title, width))


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
        notes.append({"text": _("target {target}", target=i18n.number(target)), "xref": f"x{axis} domain",
                      "yref": f"y{axis}", "x": 0, "y": target, "xanchor": "left",
                      "yanchor": "bottom", "showarrow": False})
    fig.update_layout(shapes=shapes, annotations=notes)


def _styled(fig: go.Figure, height: int, **layout) -> go.Figure:
    """The dashboard's look: white plot, system font, legend on top, room for the modebar."""
    fig.update_layout(**{
        "height": height, "margin": {"l": 40, "r": 30, "t": 40, "b": 30}, "plot_bgcolor": "white",
        "font": {"family": "system-ui, sans-serif"}, "separators": _separators(),
        # the legend below the chart: above it, it would run into the modebar on a phone
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}, **layout})
    return fig


MAP_SYMBOLS = {"achieved": "star", "on_track": "circle", "at_risk": "triangle-up",
               "off_track": "x", "no_target": "circle-open"}


# Where a map label may go beside its place, in order of preference, and how its box lies then:
# (left edge, top edge) of a w x h box from the place, in pixels, y down.
LABEL_PLACES = {
    "middle right": lambda w, h: (11, -h / 2), "middle left": lambda w, h: (-11 - w, -h / 2),
    "top center": lambda w, h: (-w / 2, -11 - h), "bottom center": lambda w, h: (-w / 2, 11),
    "top right": lambda w, h: (7, -9 - h), "bottom right": lambda w, h: (7, 9),
    "top left": lambda w, h: (-7 - w, -9 - h), "bottom left": lambda w, h: (-7 - w, 9),
}
MAP_RANGE = {"lon": (-1.0, 33.0), "lat": (37.0, 51.0)}  # the council places, with room for labels
MAP_HEIGHT, MAP_MARGIN_TOP = 480, 70
PHONE_WIDTH = 300  # a phone's map is about as wide as this; a wide screen's as tall as the figure
CHAR, LINE, MARKER = 7.2, 16, 9  # a label character's width, a label's height, a place's half size


def _mercator(lat: float) -> float:
    """A latitude's height on the Mercator map, in degrees of longitude."""
    return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def _label_scales() -> list[float]:
    """Pixels per degree at which labels must neither overlap nor leave the map: a phone's, a wide
    screen's and one between."""
    lon, lat = MAP_RANGE["lon"], MAP_RANGE["lat"]
    tallest = (MAP_HEIGHT - MAP_MARGIN_TOP) / (_mercator(lat[1]) - _mercator(lat[0]))
    narrowest = PHONE_WIDTH / (lon[1] - lon[0])
    return [narrowest, (narrowest + tallest) / 2, tallest]


def label_positions(points: dict[str, tuple[float, float, str]]) -> dict[str, str]:
    """Where to put each map label (a key of LABEL_PLACES) so that, on a phone as on a wide screen,
    it covers no other label or place and stays inside the map: the most preferred free places,
    found west to east, trying the next where one leads nowhere. `points` maps a key to (lon, lat,
    label text)."""
    scales = _label_scales()
    keys = sorted(points, key=lambda k: points[k][0])
    lon_range, lat_range = MAP_RANGE["lon"], MAP_RANGE["lat"]

    def at(lon, lat, scale):
        return scale * lon, -scale * _mercator(lat)

    def box(key, where, scale):
        lon, lat, text = points[key]
        width = CHAR * len(text)
        (x, y), (dx, dy) = at(lon, lat, scale), LABEL_PLACES[where](width, LINE)
        return x + dx, y + dy, x + dx + width, y + dy + LINE

    def inside(b, scale):
        left, top = at(lon_range[0], lat_range[1], scale)
        right, bottom = at(lon_range[1], lat_range[0], scale)
        return left <= b[0] and b[2] <= right and top <= b[1] and b[3] <= bottom

    def apart(a, b):
        return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]

    def fits(key, where, chosen):
        for scale in scales:
            mine = box(key, where, scale)
            taken = [box(k, w, scale) for k, w in chosen.items()]
            taken += [(x - MARKER, y - MARKER, x + MARKER, y + MARKER)
                      for x, y in (at(lon, lat, scale) for lon, lat, _ in points.values())]
            if not inside(mine, scale) or not all(apart(mine, other) for other in taken):
                return False
        return True

    def search(chosen):
        if len(chosen) == len(keys):
            return chosen
        key = keys[len(chosen)]
        for where in LABEL_PLACES:
            found = fits(key, where, chosen) and search({**chosen, key: where})
            if found:
                return found
        return None

    return search({}) or dict.fromkeys(keys, "middle right")


def country_map(statuses: pd.DataFrame, registry: Registry, title: str) -> go.Figure:
    """The countries at their council's place, coloured, shaped and labelled by status, each label
    with its figure ("FR ✔ 347k").

    `statuses` has one row per country: `country` (code), `status` (a status_rule key) and
    `figure` (its label's figure, as text). One trace per status, so the legend names each status
    in words with its symbol.
    """
    fig = go.Figure()
    places = {c.code: c for c in registry.countries}
    styles = registry.status_rule.statuses
    figures = dict(zip(statuses["country"], statuses["figure"], strict=True))
    texts = {code: f"{code} {styles[s].symbol} {figures[code]}"
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
            name=f"{style.symbol} {i18n.status(style)}", text=[texts[c.code] for c in shown],
            textposition=[where[c.code] for c in shown], textfont={"size": 12, "color": "#1f2933"},
            customdata=[c.code for c in shown],
            hovertext=[f"{i18n.country(c.code)}, {c.place}: {i18n.status(style)}, {figures[c.code]}"
                       for c in shown],
            hoverinfo="text",
            marker={"size": 16, "color": style.colour, "symbol": MAP_SYMBOLS.get(status, "circle"),
                    "line": {"width": 1, "color": "#1f2933"}}))
    fig.update_geos(scope="europe", resolution=110, showcountries=True, countrycolor="#9aa5b1",
                    showland=True, landcolor="#eef2f6", showocean=True, oceancolor="#ffffff",
                    lonaxis_range=list(MAP_RANGE["lon"]), lataxis_range=list(MAP_RANGE["lat"]),
                    projection_type="mercator")
    return _styled(fig, MAP_HEIGHT, title={"text": title, "x": 0, "font": {"size": 14}},
                   margin={"l": 0, "r": 0, "t": MAP_MARGIN_TOP, "b": 0})


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
        fig.add_trace(go.Scatter(x=[q for q, _v in plan], y=[v for _q, v in plan], name=_("Planned"),
                                 mode="lines", line={"color": PLANNED, "dash": "dash"},
                                 hovertemplate=_planned()))
    start = mine.iloc[-1]
    x = [start["quarter"], *projected["quarter"]]
    if (projected["high"] > projected["low"]).any():
        fig.add_trace(go.Scatter(x=x, y=[start["value"], *projected["high"]], mode="lines",
                                 line={"width": 0}, showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=[start["value"], *projected["low"]], mode="lines",
                                 line={"width": 0}, fill="tonexty", fillcolor="rgba(31,78,121,.15)",
                                 name=_("Range of past errors"), hoverinfo="skip"))
    if not projected.empty:
        fig.add_trace(go.Scatter(x=x, y=[start["value"], *projected["central"]], name=_("Projection"),
                                 mode="lines+markers", line={"color": ACTUAL, "dash": "dot"},
                                 hovertemplate=_("{quarter}: projected {value}", quarter="%{x}",
                                                 value="%{y:,.0f}") + "<extra></extra>"))
    fig.add_trace(go.Scatter(x=mine["quarter"], y=mine["value"], name=_("Reported"),
                             mode="lines+markers", line={"color": ACTUAL, "width": 3},
                             hovertemplate=_reported(kpi)))
    _target_lines(fig, [kpi.target])
    _quarter_ticks(fig, registry)
    fig.update_yaxes(rangemode="tozero", gridcolor="#e5e7eb", title=i18n.kpi(kpi, "unit"))
    return _styled(fig, 380, hovermode="x unified")


COUNTRY_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "star", "hexagon"]
# Okabe and Ito's colours, told apart with the common colour blindnesses too (their yellow left
# out: too light on white); with a dash and a symbol of its own, no two lines differ by colour alone
COUNTRY_COLOURS = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7"]
COUNTRY_DASHES = ["solid", "dot", "dash", "longdash", "dashdot", "longdashdot"]
LABEL_GAP, PLOT_HEIGHT = 16, 220  # px between end labels; the least height the plot area gets (a phone)


def spread(values: list[float], gap: float, top: float) -> list[float]:
    """Heights for labels at `values`, in the same order, each at least `gap` from the next and
    all between 0 and `top` where there is room: labels at the ends of lines that never overlap."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    placed = [float(values[i]) for i in order]
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + gap)
    if placed:
        placed[-1] = min(placed[-1], top)
    for k in range(len(placed) - 2, -1, -1):
        placed[k] = min(placed[k], placed[k + 1] - gap)
    heights = [0.0] * len(values)
    for k, i in enumerate(order):
        heights[i] = placed[k]
    return heights


def trend_by_country(series: pd.DataFrame, registry: Registry, kpi_id: str) -> go.Figure:
    """One line per country, each with its own colour, dash and symbol, and its code at its end,
    the codes spread so that they never overlap (a thin line leads from a code to its point)."""
    kpi = registry.kpi(kpi_id)
    fig = go.Figure()
    ends = []
    for i, country in enumerate(registry.countries):
        mine = series[(series["country"] == country.code) & (series["id"] == kpi_id)]
        mine = mine.sort_values("quarter")
        colour = COUNTRY_COLOURS[i % len(COUNTRY_COLOURS)]
        named = i18n.country(country.code)
        fig.add_trace(go.Scatter(
            x=mine["quarter"], y=mine["value"], name=named,
            mode="lines+markers", line={"color": colour, "dash": COUNTRY_DASHES[i % len(COUNTRY_DASHES)]},
            marker={"symbol": COUNTRY_SYMBOLS[i % len(COUNTRY_SYMBOLS)], "color": colour, "size": 7},
            hovertemplate=f"{named} %{{x}}: %{{y:,.0f}} {i18n.kpi(kpi, 'unit')}<extra></extra>"))
        known = mine.dropna(subset=["value"])
        if len(known):
            ends.append((country.code, colour, known["quarter"].iloc[-1], float(known["value"].iloc[-1])))
    top = max([v for *_, v in ends] + [1.0]) * 1.08
    heights = spread([v for *_, v in ends], LABEL_GAP * top / PLOT_HEIGHT, top)
    fig.update_layout(annotations=[
        {"x": quarter, "y": value, "ax": 26, "ayref": "y", "ay": height, "text": code,
         "showarrow": True, "arrowhead": 0, "arrowwidth": 1, "arrowcolor": colour,
         "xanchor": "left", "font": {"size": 12, "color": colour}}
        for (code, colour, quarter, value), height in zip(ends, heights, strict=True)])
    _quarter_ticks(fig, registry)
    fig.update_yaxes(range=[0, top], gridcolor="#e5e7eb", title=i18n.kpi(kpi, "unit"))
    return _styled(fig, 460, margin={"l": 40, "r": 50, "t": 40, "b": 30})


def _quarter_ticks(fig: go.Figure, registry: Registry) -> None:
    """Quarters in project order, a tick each year (every fourth quarter back from the last), so
    that dates never collide on a phone."""
    fig.update_xaxes(categoryorder="array", categoryarray=registry.quarters, showgrid=False,
                     tickmode="array", tickvals=registry.quarters[::-4][::-1])


def _bars(values) -> tuple[list[int], list[str]]:
    """Bar lengths and labels of person counts: a count from 1 to 4 is an empty bar labelled "<5"
    (tables.persons), so that no small count can be read off the chart."""
    shown = [persons(v) for v in values]
    return ([v if isinstance(v, int) else 0 for v in shown],
            [i18n.number(v) if isinstance(v, int) else v for v in shown])


def breakdown(breakdown: pd.DataFrame) -> go.Figure:
    """A total by each of its breakdowns (tables.breakdown, e.g. by sex and by age bracket), one
    above the other so that they read on a phone too."""
    groups = list(dict.fromkeys(breakdown["by"]))
    sizes = [int((breakdown["by"] == g).sum()) for g in groups]
    named = {rule.label: rule.name(i18n.lang()) for rule in declaration.get().sums}  # "by" may be its id
    fig = make_subplots(rows=max(len(groups), 1), cols=1,
                        subplot_titles=[_("By {breakdown}", breakdown=named.get(g, g)) for g in groups],
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
    fig.update_xaxes(gridcolor="#e5e7eb", rangemode="tozero", title=i18n.inline(value))
    return _styled(fig, 80 + 40 * max(len(totals), 1), margin={"l": 40, "r": 20, "t": 40, "b": 40})
