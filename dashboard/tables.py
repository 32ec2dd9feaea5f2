"""Table builders: pure functions from the frames of dashboard/data.py to the frames the pages show.

Tested without a browser (tests/test_tables.py). Person counts from 1 to 4 in breakdowns are shown
as "<5", as in the export pack.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from dashboard import i18n
from dashboard.i18n import N_, _, word
from pipelines.access import finding_notes
from pipelines.declaration import registry as declaration
from pipelines.declaration.registry import Kpi, Registry
from pipelines.export.pack import SMALL, SUPPRESSED
from pipelines.intake import messages

# Timeliness of a country's quarter, in the order of the legend: words and a symbol, never colour
# alone. A quarter's timeliness is that of its first accepted version; later versions supersede it.
SUBMISSION_STATUSES = {
    "on_time": (N_("On time"), "✔"),
    "late": (N_("Late"), "▲"),
    "missing": (N_("Missing"), "✖"),
    "rejected": (N_("Rejected"), "⊘"),
    "not_due": (N_("Not yet due"), "○"),
}
SUPERSEDED = (N_("Superseded"), "↻")


def persons(value: float | None) -> int | str:
    """A person count as shown in a breakdown: 1 to 4 become "<5"; 0 stays 0."""
    if value is None or value != value:
        return ""
    return SUPPRESSED if 0 < value < SMALL else int(value)


def collected_note(registry: Registry, kept: set[str]) -> str:
    """Where a count of the participant registers comes from, and where it was not collected."""
    missing = [c.code for c in registry.countries if c.code not in kept]
    if not kept:
        return " (" + _("not collected: no country keeps a participant register yet") + ")"
    counted = ", ".join(c.code for c in registry.countries if c.code in kept)
    return (" (" + _("registers of {countries}", countries=counted)
            + ("; " + _("not collected in {countries}", countries=", ".join(missing)) if missing else "")
            + ")")


def label(registry: Registry, code_list: str | None, code: object) -> str:
    """The label of a coded value in the reader's language, or the value itself."""
    if code is None or code != code:
        return ""
    labels = registry.code_lists.get(code_list or "", {}).get(str(code))
    return i18n.declared(labels) if labels else str(code)


def _day(value: object) -> dt.date | None:
    if value is None or value is pd.NaT or value != value:
        return None
    return pd.Timestamp(value).date()


WORST_FIRST = ["off_track", "at_risk", "on_track", "achieved"]


def compact(value: float) -> str:
    """A count short enough for a map label: 7, 870, 9,500, 63k, 1.05M."""
    if value >= 999_500:
        return i18n.number(value / 1e6, digits=2) + "M"
    return f"{value / 1000:.0f}k" if value >= 10_000 else i18n.number(value)


def country_statuses(now: pd.DataFrame, registry: Registry, kpi: str | None = None) -> pd.DataFrame:
    """Each country's status (kpis.compute as of a quarter) for one KPI, or, with no KPI, its
    worst status over the targets it has a share of ("no_target" when it has none); and its
    `figure` for a map label: the KPI's value, or how many of its targets are on track or achieved
    ("3/4")."""
    mine = now[now["country"].notna()]
    if kpi:
        rows = mine[mine["id"] == kpi]
        return pd.DataFrame({"country": rows["country"], "status": rows["status"],
                             "figure": [compact(v) for v in rows["value"]]}).reset_index(drop=True)
    targeted = mine[mine["target"].notna() & (mine["target"] > 0)]
    rows = []
    for code in (c.code for c in registry.countries):
        statuses = list(targeted[targeted["country"] == code]["status"])
        met = sum(s in ("on_track", "achieved") for s in statuses)
        rows.append({"country": code, "status": next((s for s in WORST_FIRST if s in statuses), "no_target"),
                     "figure": f"{met}/{len(statuses)}"})
    return pd.DataFrame(rows)


REVIEWED = {"approved": N_("Approved, locked"), "returned": N_("Returned"), "reopened": N_("Reopened")}


def submission_matrix(subs: pd.DataFrame, rejected: list[dict], registry: Registry,
                      today: dt.date, review: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per country and quarter: status, due date (registry.due_date), when the first
    accepted version was submitted (the cover's date, else its arrival), days late, superseded
    versions, the organisations that sent a workbook (where a country reports per organisation,
    each has its own current version), rejected files and the managers' decisions (`review`:
    the review state of each key, approvals.table)."""
    rows = []
    for country in (c.code for c in registry.countries):
        for quarter in registry.quarters:
            due = registry.due_date(quarter)
            mine = subs[(subs["country"] == country) & (subs["quarter"] == quarter)]
            refused = [r for r in rejected if (r["country"], r["quarter"]) == (country, quarter)]
            sent, late = None, 0
            if len(mine):
                first = mine.sort_values(["version", "received_at"]).iloc[0]
                sent = _day(first["submitted_on"]) or _day(first["received_at"])
                late = max((sent - due).days, 0)
                status = "late" if late else "on_time"
            else:
                status = "rejected" if refused else "missing" if due < today else "not_due"
            rows.append({"country": country, "quarter": quarter, "status": status, "due": due,
                         "submitted_on": sent, "days_late": late,
                         "superseded": int((~mine["current"].astype(bool)).sum()),
                         "organisations": int(mine["current"].astype(bool).sum()),
                         "rejected": len(refused), "review": _reviewed(review, country, quarter)})
    return pd.DataFrame(rows)


def _reviewed(review: pd.DataFrame | None, country: str, quarter: str) -> str:
    """The decisions on a country's quarter in words ("Approved, locked"; "Returned: 1, Approved,
    locked: 1" where its organisations differ); "" before any decision."""
    if review is None or review.empty:
        return ""
    states = review[(review["country"] == country) & (review["quarter"] == quarter)]["state"]
    decided = states[states.isin(list(REVIEWED))].value_counts()
    if decided.empty:
        return ""
    if len(decided) == 1 and decided.iloc[0] == len(states):
        return word(REVIEWED[decided.index[0]])
    return ", ".join(f"{word(REVIEWED[s])}: {n}" for s, n in decided.items())


def localised(finding: dict) -> tuple[str, str]:
    """A finding's (message, fix) in the reader's language, rendered from its rule and parameters
    (JSON in the database, a mapping in a quarantine report), as the Upload page shows them; as
    stored when its rule is not in the catalogue."""
    if finding.get("rule") not in messages.catalogue():
        return finding.get("message") or "", finding.get("fix") or ""
    return messages.render(finding["rule"], i18n.lang(), declaration.get(),
                           sheet_id=finding.get("sheet_id") or "", field=finding.get("field") or "",
                           value=str(finding.get("value") or ""), cell=finding.get("cell") or "",
                           params=_params(finding.get("params")))


def _params(value) -> dict:
    """A finding's parameters: JSON in the database, a mapping in a quarantine report."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def status_text(row: dict | pd.Series) -> str:
    """A matrix cell in words and symbols, e.g. "▲ Late (19 days) · ↻ 1 superseded"; "2
    organisations" where several organisations of the country sent their own workbook."""
    name, symbol = SUBMISSION_STATUSES[row["status"]]
    parts = [f"{symbol} {word(name)}" + (" " + _("({days} days)", days=row["days_late"])
                                         if row["status"] == "late" else "")]
    if row["organisations"] > 1:
        parts.append(_("{count} organisations", count=row["organisations"]))
    if row.get("review"):
        parts.append(row["review"])
    if row["superseded"]:
        parts.append(f"{SUPERSEDED[1]} " + _("{count} superseded", count=row["superseded"]))
    if row["rejected"] and row["status"] != "rejected":
        parts.append(f"{SUBMISSION_STATUSES['rejected'][1]} " + _("{count} rejected", count=row["rejected"]))
    return " · ".join(parts)


def overdue(matrix: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """The quarters whose due date has passed with no accepted workbook, and since when."""
    late = matrix[matrix["status"].isin(["missing", "rejected"]) & (matrix["due"] < today)]
    return pd.DataFrame({
        "country": late["country"], "quarter": late["quarter"], "due": late["due"],
        "overdue_since": late["due"] + dt.timedelta(days=1),
        "days_overdue": [(today - d).days for d in late["due"]],
        "rejected_files": late["rejected"],
    }).reset_index(drop=True)


def outlook(projected: pd.DataFrame, target: float | None, unit: str) -> str:
    """What the projection (projection.project) says of the target at the project's end."""
    end = projected.iloc[-1]
    n = i18n.number
    said = (_("Projected for {quarter}: ~{value} {unit} (range {low}–{high})", quarter=end["quarter"],
              value=n(end["central"]), unit=unit, low=n(end["low"]), high=n(end["high"]))
            if end["high"] > end["low"] else
            _("Projected for {quarter}: ~{value} {unit}", quarter=end["quarter"], value=n(end["central"]),
              unit=unit))
    if not target:
        return f"{said}."
    verdict = (_("the target is reached even at the low end of the range") if end["low"] >= target else
               _("the target is reached at this pace") if end["central"] >= target else
               _("the target is reached only at the high end of the range") if end["high"] >= target else
               _("the target is not reached at this pace"))
    return _("{projection}; target {target}: {verdict}.", projection=said, target=n(target), verdict=verdict)


def final_position(value: float, target: float | None, unit: str, quarter: str) -> str:
    """Where a KPI ended, at the project's last quarter: nothing is left to project."""
    if not target:
        return _("Final position at {quarter}, the project's last quarter: {value} {unit}.",
                 quarter=quarter, value=i18n.number(value), unit=unit)
    return _("Final position at {quarter}, the project's last quarter: {value} {unit}, {percent}% of the "
             "target of {target}.", quarter=quarter, value=i18n.number(value), unit=unit,
             percent=i18n.number(100 * value / target), target=i18n.number(target))


def projection_method(registry: Registry, kpi: Kpi, offs: float, as_of: str) -> str:
    """How the projection is made, in words (pipelines/marts/projection.py)."""
    pace = (_("the average quarterly gain of the last three quarters continues") if kpi.measure == "stock"
            else _("its quarterly gains of the last three quarters continue along their trend (the "
                   "least-squares line through them, never below zero)"))
    if not kpi.one_off:
        return _("How: {pace}.", pace=pace)
    sheet = registry.sheet(kpi.source.sheet)
    named = "; ".join(label(registry, sheet.field(f).choices, code)
                      for f, codes in kpi.one_off.items() for code in codes)
    return _("How: one-off figures ({named}: reported once, not a pace) up to {quarter}, {value} {unit}, are "
             "added as they are and never repeated; for the rest, {pace}. One-off figures not yet reported "
             "are not foreseen.", named=named, quarter=as_of, value=i18n.number(offs),
             unit=i18n.kpi(kpi, "unit"), pace=pace)


def backtest_note(horizons: pd.DataFrame, ahead: int, checked_to: str) -> str:
    """How far the whole project's projections made as many quarters ahead were off, each against
    what was reported then (projection.by_horizon, on the quarters up to `checked_to`)."""
    row = horizons[horizons["ahead"] == ahead]
    if row.empty:
        return _("Not checked yet: up to {quarter}, no projection made {ahead} quarter(s) ahead can be "
                 "compared with what was reported.", quarter=checked_to, ahead=ahead)
    row = row.iloc[0]
    return _("Checked on this project up to {quarter}: projections made {ahead} quarter(s) ahead were off by "
             "{error}% on average ({count} projection(s), {short}% of them short of what was reported); "
             "the range shows that error.", quarter=checked_to, ahead=ahead,
             error=i18n.number(row["mean_error"]), count=int(row["projections"]),
             short=i18n.number(row["short"]))


def entity_table(history: pd.DataFrame, registry: Registry, entity: str,
                 counted: dict[tuple[str, str], list[str]]) -> pd.DataFrame:
    """One row per entity: its latest report (every field of its sheet but internal remarks, coded
    values by their label; the partner's explanation of its status is shown, though kept out of
    the export), the KPIs it counts toward, its source cell, and its status in each quarter (""
    where a quarter did not report it)."""
    spec = registry.entities[entity]
    sheet = registry.sheet(spec.sheet)
    shown = [f for f in sheet.fields
             if (not f.internal or f.id == spec.explanation_field) and f.id != spec.key]
    columns = ["country", "id", *(f.id for f in shown), "counts_toward", "file_name", "version",
               "sheet", "cell", *registry.quarters]
    if history.empty:
        return pd.DataFrame(columns=columns)
    codes = sheet.field(spec.status_field).choices
    kpis = {k.label: i18n.kpi(k) for k in registry.kpis}  # `counted` names them in English
    by_quarter = history.pivot_table(index=["country", "record"], columns="quarter",
                                     values=spec.status_field, aggfunc="last")
    latest = history.sort_values(["quarter", "uploaded_at"]).groupby(["country", "record"]).tail(1)
    rows = []
    for row in latest.to_dict("records"):
        key = (row["country"], row["record"])
        statuses = by_quarter.loc[key] if key in by_quarter.index else {}
        rows.append({
            "country": row["country"], "id": row["record"],
            **{f.id: _shown(registry, f, row.get(f.id)) for f in shown},
            "counts_toward": "; ".join(kpis.get(name, name) for name in counted.get(key, [])),
            "file_name": row["file_name"], "version": row["version"], "sheet": row["sheet"],
            "cell": row["cell"],
            **{q: label(registry, codes, statuses.get(q)) for q in registry.quarters},
        })
    return pd.DataFrame(rows, columns=columns).sort_values(["country", "id"], ignore_index=True)


def status_history(statuses: list[str], quarters: list[str]) -> str:
    """An entity's status quarter by quarter in one line, each change with its quarter: "2021-Q4
    Planned → 2022-Q1 In preparation → 2022-Q3 not reported → 2022-Q4 Active" ("" before it was
    first reported)."""
    changes, before = [], None
    for quarter, status in zip(quarters, statuses, strict=True):
        now = status or ("not reported" if before else None)
        if now and now != before:
            changes.append(f"{quarter} {now}")
        before = now
    return " → ".join(changes)


def _shown(registry: Registry, field, value: object) -> object:
    """A value as a reader wants it: a coded value's label, a date's day, a gap as ""."""
    if field.type == "choice":
        return label(registry, field.choices, value)
    if field.type == "date":
        return _day(value)
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def breakdown(rows: pd.DataFrame, registry: Registry, kpi: Kpi) -> pd.DataFrame:
    """A flow KPI's total broken down: one row per part of each `sums` rule of its field (e.g.
    participations by sex and by age bracket). Workbooks report each breakdown separately."""
    sheet = registry.sheet(kpi.source.sheet)
    found = [{"by": rule.label, "category": sheet.field(part).label(i18n.lang()),
              "count": int(rows[part].sum()) if len(rows) else 0}
             for rule in _sums(registry, kpi) for part in rule.parts]
    return pd.DataFrame(found, columns=["by", "category", "count"])


def _sums(registry: Registry, kpi: Kpi) -> list:
    return [r for r in registry.sums if r.sheet == kpi.source.sheet and r.total == kpi.source.value]


def within(registry: Registry, kpi: Kpi) -> list[str]:
    """The whole-number fields counted within a flow KPI's field (not above it, e.g. third-country
    nationals among participants)."""
    sheet = registry.sheet(kpi.source.sheet)
    return [r.field for r in registry.not_above if r.sheet == sheet.id and r.limit == kpi.source.value
            and sheet.field(r.field).type == "integer"]


def counted_as(kpi: Kpi) -> str:
    """A flow KPI's count as a column names it, with what it counts: "Direct participations
    (participations)"."""
    return f"{i18n.kpi(kpi)} ({i18n.kpi(kpi, 'unit')})"


def by_category(rows: pd.DataFrame, registry: Registry, kpi: Kpi) -> pd.DataFrame:
    """A flow KPI per category of its disaggregations (the coded fields of its sheet, e.g.
    activity type, or channel and estimation method): the rows, the KPI's field, its parts and
    the fields counted within it, largest first."""
    sheet = registry.sheet(kpi.source.sheet)
    fields = {f.id: f for f in sheet.fields}
    keys = [d for d in kpi.disaggregations if d in fields and fields[d].type == "choice"]
    numbers = list(dict.fromkeys([kpi.source.value, *(p for r in _sums(registry, kpi) for p in r.parts),
                                  *within(registry, kpi)]))
    # the KPI's count and the counts within it say what they count (participations, not people)
    lang = i18n.lang()
    names = {f: fields[f].label(lang) for f in [*keys, *numbers]} | {
        f: f"{fields[f].label(lang)} ({i18n.kpi(kpi, 'unit')})" for f in within(registry, kpi)} | {
        kpi.source.value: counted_as(kpi)}
    if rows.empty or not keys:
        return pd.DataFrame(columns=[*(names[k] for k in keys), "rows", *(names[n] for n in numbers)])
    grouped = rows.groupby(keys)
    frame = grouped[numbers].sum().astype(int)
    frame.insert(0, "rows", grouped.size())
    frame = frame.reset_index()
    for key in keys:
        frame[key] = [label(registry, fields[key].choices, code) for code in frame[key]]
    frame = frame.sort_values(kpi.source.value, ascending=False, ignore_index=True)
    return frame.rename(columns=names)


def all_findings(warnings: pd.DataFrame, rejected: list[dict], accepted: pd.DataFrame | None = None,
                 notes: dict | None = None) -> pd.DataFrame:
    """Warnings of accepted files and errors of rejected ones, one row per finding, each with
    its fix, a plain name for its rule, what partners and managers said of it (`notes`,
    finding_notes.by_finding) and whether it is still open: a warning closes when a manager
    accepts it or a later version supersedes its file; a rejected file's findings close when a
    workbook of the same country, quarter (and organisation) was accepted after it (`accepted`:
    the submissions, with received_at and partner)."""
    columns = ["state", "country", "quarter", "partner", "file_name", "version", "outcome", "severity",
               "sheet", "cell", "value", "check", "message", "fix", "review", "at", "rule", "submission_id"]
    said = [(notes or {}).get(finding_notes.Finding.of(row), []) for row in warnings.to_dict("records")]
    current = warnings.get("current", pd.Series(True, index=warnings.index))
    kept = warnings.assign(
        outcome="accepted", review=[noted(n) for n in said],
        state=["closed: superseded" if not now else "closed: accepted"
               if finding_notes.verdict(n) == "accepted" else "open"
               for now, n in zip(current, said, strict=True)])
    refused = [{"country": r["country"], "quarter": r["quarter"], "file_name": r["file_name"],
                "partner": r.get("organisation") or "", "outcome": "rejected", "at": r.get("rejected_at"),
                "state": "closed: corrected" if _corrected(r, accepted) else "open", **f}
               for r in rejected for f in r["findings"]]
    frame = pd.concat([kept, pd.DataFrame(refused)], ignore_index=True)
    frame = frame.reindex(columns=columns)
    frame["check"] = frame["rule"].fillna("").str.replace("_", " ").str.capitalize()
    blank = ["partner", "version", "fix", "review", "submission_id"]  # a rejected file has no version
    frame[blank] = frame[blank].astype(object).where(frame[blank].notna(), "")
    return frame


def _corrected(report: dict, accepted: pd.DataFrame | None) -> bool:
    """Whether a workbook of the rejected file's country, quarter and organisation (any, for a
    file whose cover named none) was accepted after it was refused."""
    if accepted is None or accepted.empty or not report.get("country"):
        return False
    mine = accepted[(accepted["country"] == report["country"]) & (accepted["quarter"] == report["quarter"])]
    if report.get("organisation"):
        mine = mine[mine["partner"].fillna("").str.casefold() == report["organisation"].casefold()]
    when = pd.Timestamp(report.get("rejected_at") or pd.Timestamp.max)
    return bool((pd.to_datetime(mine["received_at"]) > when).any())


def refused_uploads(rejected: list[dict]) -> pd.DataFrame:
    """One row per rejected file, newest first: when, which file, who sent it, its first error,
    the country the account reports for, the country and quarter the file names, its errors."""
    rows = [{"rejected_at": str(r.get("rejected_at", ""))[:16].replace("T", " "), "file_name": r["file_name"],
             "sent_by": r["uploaded_by"] or "command line" if "uploaded_by" in r else "not recorded",
             "first_error": next((f["message"] for f in r["findings"] if f["severity"] == "error"), ""),
             "sender_country": r.get("uploader_country") or "",
             "for_country": r.get("named_country", r.get("country", "")), "quarter": r.get("quarter", ""),
             "errors": sum(f["severity"] == "error" for f in r["findings"])}
            for r in rejected]
    columns = ["rejected_at", "file_name", "sent_by", "first_error", "sender_country", "for_country",
               "quarter", "errors"]
    return pd.DataFrame(rows, columns=columns).sort_values("rejected_at", ascending=False, ignore_index=True)


def findings_matrix(findings: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """Per country and quarter: warnings of accepted files and errors of the findings given
    (the open ones, on the Data quality page)."""
    rows = []
    for country in (c.code for c in registry.countries):
        for quarter in registry.quarters:
            mine = findings[(findings["country"] == country) & (findings["quarter"] == quarter)]
            rows.append({"country": country, "quarter": quarter,
                         "warnings": int(((mine["severity"] == "warning")
                                          & (mine["outcome"] == "accepted")).sum()),
                         "errors": int((mine["severity"] == "error").sum())})
    return pd.DataFrame(rows)


def only(frame: pd.DataFrame, **filters: str | None) -> pd.DataFrame:
    """The rows whose columns equal the filters that are set (None: any value)."""
    for column, value in filters.items():
        if value is not None:
            frame = frame[frame[column] == value]
    return frame


def _plain(value: object) -> object:
    """A value as JSON can carry it: dates as ISO text, missing as None, numpy scalars as Python."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else f"{stamp:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value.item() if isinstance(value, np.generic) else value


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame's rows as JSON-ready dicts, for a grid or a download."""
    return [{c: _plain(v) for c, v in zip(frame.columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)]


NOTED = {"explain": N_("explained by {actor} on {day}"), "accept": N_("accepted by {actor} on {day}"),
         "correct": N_("correction asked by {actor} on {day}")}


def noted(notes: list[dict]) -> str:
    """What was said of a warning (finding_notes), one line each, in the reader's language, e.g.
    "explained by bg-partner on 5 Oct 2022: the census counts twice"."""
    return "\n".join(word(NOTED[n["action"]]).format(actor=n["actor"], day=i18n.date(_day(n["at"])))
                     + (f": {n['text']}" if n["text"] else "") for n in notes)


def field_headings(registry: Registry, sheets: list[str]) -> dict[str, str]:
    """Columns of these sheets' rows headed as their workbooks label the fields in the reader's
    language; a field the sheets label differently (a council's and an authority's name) keeps
    its own heading."""
    labels: dict[str, set[str]] = {}
    for sheet in sheets:
        for field in registry.sheet(sheet).fields:
            labels.setdefault(field.id, set()).add(field.label(i18n.lang()))
    return {field: said.pop() for field, said in labels.items() if len(said) == 1}
