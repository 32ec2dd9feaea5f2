"""Indicators: each KPI's definition, counting rule, target, trajectory and AMIF mapping, rendered
from indicators.yaml (no database needed), with the status rule behind every status shown.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashboard import auth, i18n, tables, ui
from dashboard.i18n import N_, _
from pipelines.declaration import registry
from pipelines.declaration.registry import Kpi, Registry

dash.register_page(__name__, path="/indicators", name="Indicators", title="Indicators", order=7,
                   access="partner")

MEASURES = {"stock": (N_("stock"), N_("entities, each counted once by its latest status; never summed over "
                                      "quarters")),
            "flow": (N_("flow"), N_("summed over the quarters up to the as-of quarter")),
            "people": (N_("people"), N_("distinct people up to the as-of quarter, each counted once"))}
COUNTS = {"entities": N_("entities with a status"),
          "estimate": N_("an estimate of people reached indirectly"),
          "participations": N_("participations: a person in two activities counts twice"),
          "unique_participants": N_("unique participants: each person once, from the participant registers")}
REGISTERS = {"participations": N_("participations in the current participant registers"),
             "unique_participants": N_("unique participants in the current participant registers")}
# the columns of its table of targets (ui.header)
WORDS = (N_("Kpi"), N_("Label"), N_("Unit"), N_("Target"))


def layout(**_query) -> html.Div:
    reg = registry.get()
    return html.Div([
        ui.page_head(_("Indicators")),
        html.P([_("Every figure of this dashboard follows these declarations ({file}).",
                  file="indicators.yaml"),
                " ", _("Click a KPI's name to see where its current value comes from.")], className="muted"),
        html.Nav(html.Ul([html.Li(html.A(i18n.kpi(k), href=f"#indicators-{k.id}")) for k in reg.kpis]),
                 **{"aria-label": _("Indicators")}),
        *(_kpi(reg, kpi) for kpi in reg.kpis),
        html.Section([html.H2(_("Status rule")), _status_rule(reg)], className="panel",
                     id="indicators-status-rule"),
        html.Section([html.H2(_("Targets and planned trajectories")),
                      ui.table("indicators-plan", _shown(plan(reg), reg),
                               headings={f"target {c.code}": _("Target {country}", country=c.code)
                                         for c in reg.countries})], className="panel"),
    ])


def _source(kpi: Kpi, reg: Registry) -> str:
    """Where a KPI's value comes from, its sheets, fields and codes by their labels."""
    src, lang = kpi.source, i18n.lang()
    if src.entity:
        spec = reg.entities[src.entity]
        sheet = reg.sheet(spec.sheet)
        codes = sheet.field(spec.status_field).choices
        where = "; ".join(
            f"{sheet.field(k).label(lang)}: " + ", ".join(
                tables.label(reg, sheet.field(k).choices, c) for c in ([v] if isinstance(v, str) else v))
            for k, v in src.where.items())
        return (_("entities of the sheet “{sheet}” whose latest status is {statuses}",
                  sheet=sheet.label(lang),
                  statuses=", ".join(tables.label(reg, codes, c) for c in src.qualifying))
                + (f"; {where}" if where else ""))
    if src.register_count:
        return i18n.word(REGISTERS[src.register_count])
    sheet = reg.sheet(src.sheet)
    return _("sum of “{field}” on the sheet “{sheet}”", field=sheet.field(src.value).label(lang),
             sheet=sheet.label(lang))


def _by(reg: Registry, kpi: Kpi) -> str:
    """What a KPI is broken down by, in words: its fields' labels, or its breakdowns' names."""
    lang, src = i18n.lang(), kpi.source
    sheet = (reg.sheet(reg.entities[src.entity].sheet) if src.entity else reg.sheet(src.sheet) if src.sheet
             else reg.participant_register.sheet if reg.participant_register else None)
    fields = {f.id: f.label(lang) for f in sheet.fields} if sheet else {}
    rules = {r.label: r.name(lang) for r in reg.sums}
    named = [_("country") if d == "country" else fields.get(d) or rules.get(d) or d.replace("_", " ")
             for d in kpi.disaggregations]
    return ", ".join(map(i18n.inline, named))


def _kpi(reg: Registry, kpi: Kpi) -> html.Section:
    unit, (measure, meaning) = i18n.kpi(kpi, "unit"), MEASURES[kpi.measure]
    facts = [(_("Definition"), i18n.kpi(kpi, "description")),
             (_("Counting rule"), i18n.kpi(kpi, "counting_rule")),
             (_("Measure"), f"{i18n.word(measure)} ({i18n.word(meaning)})"),
             (_("Counts"), i18n.word(COUNTS[kpi.count])),
             (_("Source"), _source(kpi, reg)), (_("Unit"), unit),
             (_("Target"), f"{ui.number(kpi.target)} {unit}" if kpi.target is not None
              else _("none (reported beside the targets)")),
             (_("Targets by country"), ", ".join(f"{c.code} {ui.number(c.targets.get(kpi.id))}"
                                                  for c in reg.countries if kpi.id in c.targets)
              or "–"),
             (_("Trajectory"), ", ".join(f"{q}: {ui.number(v)}" for q, v in
                                         sorted(kpi.trajectory.items())) or "–"),
             (_("Broken down by"), _by(reg, kpi))]
    amif = [html.Li([html.Strong(f"{framework}: "), html.Ul([
        html.Li([ref.said(i18n.lang()),
                 html.Span([" — ", html.Cite(ref.ref)], className="muted")]) for ref in refs])
        if refs else _("no indicator")]) for framework, refs in kpi.amif.items()]
    label = i18n.kpi(kpi)
    return html.Section([
        html.H2(dcc.Link(label, href=f"/provenance{ui.query(kpi=kpi.id)}")
                if auth.may_open("/provenance") else label),
        html.P(html.Code(kpi.id), className="muted"),
        html.Dl([part for name, value in facts for part in (html.Dt(name), html.Dd(value))],
                className="facts"),
        html.H3(_("{framework} indicators", framework=registry.get().export.framework)), html.Ul(amif),
    ], className="panel", id=f"indicators-{kpi.id}")


def _status_rule(reg: Registry) -> html.Ul:
    ratio = reg.status_rule.at_risk_ratio
    meaning = {"achieved": _("the value reaches the target"),
               "on_track": _("the value reaches the planned value for the quarter"),
               "at_risk": _("the value reaches {ratio} of the planned value", ratio=f"{ratio:.0%}"),
               "off_track": _("the value is below {ratio} of the planned value", ratio=f"{ratio:.0%}"),
               "no_target": _("the country has no share of this target")}
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


def _shown(frame: pd.DataFrame, reg: Registry) -> pd.DataFrame:
    """The table of targets as shown: each KPI's label and unit in the reader's language."""
    kpis = [reg.kpi(k) for k in frame["kpi"]] if len(frame) else []
    return frame.assign(label=[i18n.kpi(k) for k in kpis], unit=[i18n.kpi(k, "unit") for k in kpis])
