"""Indicators: each KPI's definition, counting rule, target, trajectory and AMIF mapping, rendered
from indicators.yaml (no database needed), with the status rule behind every status shown.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import auth, ui
from pipelines.declaration import registry
from pipelines.declaration.registry import Kpi, Registry

dash.register_page(__name__, path="/indicators", name="Indicators", title="Indicators", order=7,
                   access="partner")

MEASURES = {"stock": "entities, each counted once by its latest status; never summed over quarters",
            "flow": "summed over the quarters up to the as-of quarter",
            "people": "distinct people up to the as-of quarter, each counted once"}
COUNTS = {"entities": "entities with a status",
          "estimate": "an estimate of people reached indirectly",
          "participations": "participations: a person in two activities counts twice",
          "unique_participants": "unique participants: each person once, from the participant registers"}


def layout(**_query) -> html.Div:
    reg = registry.get()
    return html.Div([
        ui.page_head("Indicators"),
        html.P(["Every figure of this dashboard follows these declarations (indicators.yaml). ",
                "Click a KPI's name to see where its current value comes from."], className="muted"),
        html.Nav(html.Ul([html.Li(html.A(k.label, href=f"#indicators-{k.id}")) for k in reg.kpis]),
                 **{"aria-label": "Indicators"}),
        *(_kpi(reg, kpi) for kpi in reg.kpis),
        html.Section([html.H2("Status rule"), _status_rule(reg)], className="panel",
                     id="indicators-status-rule"),
        html.Section([html.H2("Targets and planned trajectories"),
                      ui.table("indicators-plan", plan(reg))], className="panel"),
    ])


def _source(kpi: Kpi, reg: Registry) -> str:
    src = kpi.source
    if src.entity:
        where = "; ".join(f"{k} in {v if isinstance(v, str) else ', '.join(v)}"
                          for k, v in src.where.items())
        return (f"{src.entity} entities ({reg.entities[src.entity].sheet} sheet) whose latest "
                f"status is {', '.join(src.qualifying)}" + (f"; {where}" if where else ""))
    if src.register_count:
        return f"{src.register_count.replace('_', ' ')} in the current participant registers"
    return f"sum of {src.value} on the {src.sheet} sheet"


def _kpi(reg: Registry, kpi: Kpi) -> html.Section:
    facts = [("Definition", kpi.description), ("Counting rule", kpi.counting_rule),
             ("Measure", f"{kpi.measure} ({MEASURES[kpi.measure]})"),
             ("Counts", COUNTS[kpi.count]),
             ("Source", _source(kpi, reg)), ("Unit", kpi.unit),
             ("Target", f"{ui.number(kpi.target)} {kpi.unit}" if kpi.target is not None
              else "none (reported beside the targets)"),
             ("Targets by country", ", ".join(f"{c.code} {ui.number(c.targets.get(kpi.id))}"
                                               for c in reg.countries if kpi.id in c.targets)
              or "–"),
             ("Trajectory", ", ".join(f"{q}: {ui.number(v)}" for q, v in
                                      sorted(kpi.trajectory.items())) or "–"),
             ("Broken down by", ", ".join(kpi.disaggregations))]
    amif = [html.Li([html.Strong(f"{framework}: "), html.Ul([
        html.Li([ref.wording, html.Span(f" — {ref.ref}", className="muted")]) for ref in refs])
        if refs else "no indicator"]) for framework, refs in kpi.amif.items()]
    return html.Section([
        html.H2(dcc.Link(kpi.label, href=f"/provenance{ui.query(kpi=kpi.id)}")
                if auth.may_open("/provenance") else kpi.label),
        html.P(html.Code(kpi.id), className="muted"),
        html.Dl([part for name, value in facts for part in (html.Dt(name), html.Dd(value))],
                className="facts"),
        html.H3(f"{registry.get().export.framework} indicators"), html.Ul(amif),
    ], className="panel", id=f"indicators-{kpi.id}")


def _status_rule(reg: Registry) -> html.Ul:
    ratio = reg.status_rule.at_risk_ratio
    meaning = {"achieved": "the value reaches the target",
               "on_track": "the value reaches the planned value for the quarter",
               "at_risk": f"the value reaches {ratio:.0%} of the planned value",
               "off_track": f"the value is below {ratio:.0%} of the planned value",
               "no_target": "the country has no share of this target"}
    return html.Ul([html.Li([ui.status_badge(reg, s), f" {meaning.get(s, '')}"])
                    for s in reg.status_rule.statuses])


def plan(reg: Registry) -> pd.DataFrame:
    """One row per targeted KPI: its target, each country's share and the planned value by quarter."""
    rows = []
    for kpi in (k for k in reg.kpis if k.target is not None):
        rows.append({"kpi": kpi.id, "label": kpi.label, "unit": kpi.unit, "target": kpi.target,
                     **{f"target {c.code}": c.targets.get(kpi.id, 0) for c in reg.countries},
                     **{q: reg.planned(kpi, q) for q in reg.quarters}})
    return pd.DataFrame(rows)
