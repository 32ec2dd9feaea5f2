"""Figure builders: pure functions from frames to plotly figures, tested without a browser."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipelines.registry import Registry

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
        fig.add_hline(y=kpi.target, line={"color": "#1a7f37", "dash": "dot", "width": 1},
                      annotation_text=f"target {kpi.target:,.0f}", annotation_position="top left",
                      row=row, col=col)
        fig.update_xaxes(categoryorder="array", categoryarray=registry.quarters, row=row, col=col)
        fig.update_yaxes(rangemode="tozero", row=row, col=col)
    fig.update_layout(
        height=300 * rows + 40, margin={"l": 40, "r": 20, "t": 90, "b": 30},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.06, "x": 0}, plot_bgcolor="white",
        font={"family": "system-ui, sans-serif"}, hovermode="x unified",
    )
    fig.update_xaxes(showgrid=False, tickangle=-45)
    fig.update_yaxes(gridcolor="#e5e7eb")
    return fig
