"""The EU reporting export pack: its tables, built for a reporting period as of a quarter.

Every builder takes a Scope (a DuckDB connection holding the monitor's tables and the
`current_submissions` view, the declaration, the period and the as-of quarter) and returns a
Table of aggregates. `build` runs them on an opened snapshot (pipelines/export/snapshot.py), so a pack
regenerated from a snapshot runs this same code on the same rows. The writers are in
pipelines/export/write.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from pipelines.declaration import quarters
from pipelines.declaration.registry import ExportSheet, Kpi, Registry
from pipelines.export import submitted
from pipelines.export.snapshot import Snapshot
from pipelines.intake.history import same_id
from pipelines.marts import counted, kpis, people

SMALL = 5  # person counts from 1 to SMALL - 1 are suppressed
SUPPRESSED = f"<{SMALL}"
TOTAL = "Total"
PROGRESS = "KPI progress"
SUMMARY = "KPI summary"

COUNTS = {"entities": "entities with a status", "estimate": "estimated people reached (indirect)",
          "participations": "participations (a person in two activities counts twice)",
          "unique_participants": "unique participants (each person once)"}

UNIQUE = "Unique participants"
REVISIONS = "Revisions"


def sheets(reg: Registry) -> dict[str, str]:
    """The pack's sheets in order, each with the README's line about it."""
    details = {}
    for shown in reg.export_sheets():
        sheet = reg.sheet(shown.sheet)
        entity = reg.entity_of(sheet.id)
        details[_title(reg, shown)] = shown.description or (
            f"One row per {entity}: its latest report as of the period's end." if entity else
            f"{sheet.label('en')} per country, summed over the period." if shown.per_country else
            f"Every row of {sheet.label('en')} reported for the period.")
    return {
        "README": "What this pack is, where its figures come from and the rules behind them.",
        SUMMARY: "Each KPI: target, value for the period, cumulative value, % of target and status, "
        "overall and per country (cumulative); a chart per target against its planned trajectory.",
        _indicators(reg): f"The {reg.export.framework} indicators each KPI maps to, in each "
        "framework, with the person breakdowns of its sheet where there are some.",
        **details,
        **({UNIQUE: "From the participant registers: per country, participations and unique "
            "participants (each person once) in the period and cumulatively, and unique "
            "participants by the register's breakdowns."} if reg.participant_register else {}),
        "Submissions & data quality": "Every workbook version received up to the as-of quarter, "
        "the missing ones and the warnings kept with each.",
        REVISIONS: "Each figure of a pack reported to the EU earlier (mvh export --submitted) that "
        "differs now: the value reported, the value now and the corrected versions behind it.",
        "Definitions": "Each KPI's definition and counting rule.",
        PROGRESS: "The project's KPI values by quarter beside the planned trajectory (chart data).",
    }


def _title(reg: Registry, shown) -> str:
    return shown.title or reg.sheet(shown.sheet).label("en")


def _indicators(reg: Registry) -> str:
    return f"{reg.export.framework} indicators"


@dataclass(frozen=True)
class Period:
    first: str
    last: str

    def __str__(self) -> str:
        return self.first if self.first == self.last else f"{self.first}..{self.last}"


@dataclass(frozen=True)
class Scope:
    con: duckdb.DuckDBPyConnection
    registry: Registry
    period: Period
    as_of: str


@dataclass(frozen=True)
class Table:
    name: str
    frame: pd.DataFrame
    totals: bool = False  # the last row is a totals row
    formats: dict[str, str] = field(default_factory=dict)  # Excel number format by column
    wrap: tuple[str, ...] = ()  # columns of long text
    freeze_columns: int = 0


@dataclass(frozen=True)
class Chart:
    """A line chart of a table's columns by the table's category column."""

    title: str
    unit: str
    table: str
    category: str
    series: tuple[str, ...]


@dataclass(frozen=True)
class Pack:
    snapshot_id: str
    tables: list[Table]
    charts: list[Chart]
    chart_sheet: str = SUMMARY


# ---- period and as-of ---------------------------------------------------------------------
def parse_period(text: str, registry: Registry) -> Period:
    """Read a period "2022-Q1..2022-Q4" (or one quarter) of the project; ValueError with a hint."""
    first, _, last = text.partition("..")
    try:
        first, last = quarters.parse(first), quarters.parse(last or first)
    except ValueError:
        raise ValueError(f"{text!r} is not a period; write it as 2022-Q1..2022-Q4") from None
    period = Period(*(f"{y}-Q{q}" for y, q in (first, last)))
    for quarter in (period.first, period.last):
        registry.quarter(quarter, f"period {period}: quarter")
    if period.first > period.last:
        raise ValueError(f"period {period} ends before it starts; write it as 2022-Q1..2022-Q4")
    return period


def check_as_of(as_of: str | None, period: Period, registry: Registry) -> str:
    """The as-of quarter: the period's end unless a later quarter of the project is given."""
    quarter = registry.quarter(as_of or period.last, "as-of quarter")
    if quarter < period.last:
        raise ValueError(
            f"as-of quarter {quarter} is before the end of the period {period}; "
            f"give {period.last} or later"
        )
    return quarter


# ---- the pack -----------------------------------------------------------------------------
def build(snap: Snapshot, generated_at: dt.datetime) -> Pack:
    """Every table of the pack, in the order of its sheets, from an opened snapshot."""
    reg = snap.registry
    s = Scope(snap.con, reg, parse_period(snap.manifest["period"], reg), snap.manifest["as_of"])
    progress, charts = kpi_progress(s)
    tables = [
        readme(s, snap, generated_at),
        kpi_summary(s),
        amif(s),
        *(detail(s, shown) for shown in reg.export_sheets()),
        *([unique_participants(s)] if reg.participant_register else []),
        submissions(s),
        revisions(snap),
        definitions(s),
        progress,
    ]
    return Pack(snap.id, tables, charts)


def _review(s: Scope, snap: Snapshot) -> list[tuple[str, str]]:
    """What the README says of the coordination's review (the states frozen with the snapshot):
    whether only approved quarters are counted, and which current versions were approved."""
    if "review" not in snap.manifest["tables"]:
        return []
    states = s.con.execute("SELECT country, quarter, organisation, state FROM review "
                           "WHERE version IS NOT NULL ORDER BY quarter, country, organisation").fetchall()
    approved = [" ".join(filter(None, (c, q, o))) for c, q, o, state in states if state == "approved"]
    counted = ("approved quarters only: the others are left out of every table"
               if snap.manifest.get("approved_only") else "every current version, approved or not")
    return [("Counted", counted),
            ("Approved", f"{len(approved)} of {len(states)} current versions up to {s.as_of} were "
             "approved by the coordination when the snapshot was taken"
             + (f": {', '.join(approved)}" if approved else ""))]


def readme(s: Scope, snap: Snapshot, generated_at: dt.datetime) -> Table:
    reg, p = s.registry, s.registry.project
    first, last = quarters.first_day(s.period.first), quarters.last_day(s.period.last)
    styles = reg.status_rule.statuses
    ratio = f"{reg.status_rule.at_risk_ratio:.0%}"
    breakdowns = list(dict.fromkeys(rule.label for rule in reg.sums))
    rows = [
        ("Project", f"{p.name} ({p.acronym})"),
        ("Fund", p.fund),
        ("Grant agreement", p.grant),
        ("Project period", f"{p.start} to {p.end}"),
        ("Reporting period", f"{s.period} ({first} to {last})"),
        ("Data as of", f"{s.as_of}: the current version of each submission for a quarter up to "
         f"{s.as_of}; corrections replace earlier versions"),
        ("Snapshot id", snap.id),
        ("Snapshot taken at", snap.manifest["created_at"].replace("T", " ")),
        ("Regenerate", f"mvh export --snapshot {snap.id} gives the same tables from the frozen "
         "inputs, whatever was uploaded since"),
        ("Generated at", generated_at.isoformat(sep=" ", timespec="seconds")),
        ("Aggregates only", "No names, e-mail addresses or personal identifiers of participants "
         "or of the people who reported are included."),
        ("Small cells", f"Person counts from 1 to {SMALL - 1} in person breakdowns are shown "
         f"as \"{SUPPRESSED}\"; 0 is shown as 0; totals are shown in full."),
        *((("Breakdowns", f"{' and '.join(breakdowns).capitalize()} are reported separately, each adding up "
            "to the total; the partners' workbooks do not cross them."),) if breakdowns else ()),
        ("Value for the period", "Flows sum the quarters of the period; stocks (entities with a "
         "status) are counted at the period's end; unique participants are the people counted "
         "for the first time in the period. Cumulative values run from the project's "
         "start to the as-of quarter."),
        *((("Participations and unique participants", "Participations count a person once per "
            "activity (a person in two activities counts twice); unique participants count each "
            "person once over the whole project, from the participant registers, where a person "
            "is a keyed hash of country and the partner's participant code (the code itself is "
            "never stored). Column Counts of the KPI summary says which each KPI counts."),)
          if reg.participant_register else ()),
        ("Status rule", f"{styles['achieved'].label}: the value reaches the target; "
         f"{styles['on_track'].label}: it reaches the planned value for the quarter; "
         f"{styles['at_risk'].label}: at least {ratio} of the planned value; "
         f"{styles['off_track'].label}: below that."),
        *((f"Counting rule: {k.label}", k.counting_rule) for k in reg.kpis),
        *((f"Sheet: {name}", text) for name, text in sheets(reg).items()),
    ]
    used = s.con.execute(
        "SELECT country, quarter, concat_ws(' ', nullif(reporter, ''), 'v' || version), file_name, "
        "submission_id FROM current_submissions WHERE quarter <= ? ORDER BY quarter, country, reporter",
        [s.as_of]).fetchall()
    rows.append(("Source submissions", f"{len(used)} current workbook versions, each with the "
                 "sha256 of the file received (all versions: sheet Submissions & data quality)"))
    rows += [(f"{c} {q} {v}", f"{name}, sha256 {sha}") for c, q, v, name, sha in used]
    rows += _review(s, snap)
    changed = revisions(snap).frame
    rows.append((REVISIONS, f"{len(changed)} figure(s) of {changed['Reported in pack'].nunique()} pack(s) "
                 "reported to the EU earlier differ now: see sheet Revisions" if len(changed) else
                 "None: no figure of a pack reported to the EU earlier has changed"))
    frame = pd.DataFrame(rows, columns=["Item", "Value"])
    return Table("README", frame, wrap=("Value",))


# ---- KPIs ---------------------------------------------------------------------------------
def period_values(s: Scope) -> dict[str, float]:
    """Each KPI for the whole project: a flow summed over the period, a stock at its end."""
    def overall(quarter: str) -> pd.Series:
        frame = kpis.compute(s.con, s.registry, quarter)
        return frame[frame["country"].isna()].set_index("id")["value"]

    at_end = overall(s.period.last)
    start = s.registry.quarters.index(s.period.first)
    before = overall(s.registry.quarters[start - 1]) if start else at_end * 0  # nothing before
    return {
        k.id: at_end[k.id] - (before[k.id] if k.measure in ("flow", "people") else 0)
        for k in s.registry.kpis
    }


def kpi_summary(s: Scope) -> Table:
    reg = s.registry
    cumulative = kpis.compute(s.con, reg, s.as_of)
    overall = cumulative[cumulative["country"].isna()].set_index("id")
    by_country = cumulative.dropna(subset=["country"]).pivot(
        index="id", columns="country", values="value"
    )
    in_period = period_values(s)
    styles = reg.status_rule.statuses
    counted_in = people.collected(s.con, s.as_of)
    rows = []
    for kpi in reg.kpis:
        row = overall.loc[kpi.id]
        style = styles[row["status"]]
        shown = {c.code: by_country.loc[kpi.id, c.code]
                 if c.code in counted_in or not kpi.source.register_count else people.NOT_COLLECTED
                 for c in reg.countries}
        rows.append({
            "KPI id": kpi.id,
            "KPI": kpi.label,
            "Unit": kpi.unit,
            "Measure": kpi.measure,
            "Target": row["target"],
            f"Value {s.period}": in_period[kpi.id],
            f"Cumulative to {s.as_of}": row["value"],
            f"Planned at {s.as_of}": row["planned"],
            "% of target": row["percent"],
            "Status": f"{style.symbol} {style.label}",
            **shown,
            "Counts": COUNTS[kpi.count],
        })
    return Table(SUMMARY, pd.DataFrame(rows), formats={"% of target": "0.0"}, freeze_columns=2)


def kpi_progress(s: Scope) -> tuple[Table, list[Chart]]:
    """The project's value of each KPI by quarter up to the as-of quarter, and its plan."""
    reg = s.registry
    series = kpis.series(s.con, reg, s.as_of)
    overall = series[series["country"].isna()]
    frame = pd.DataFrame({"Quarter": reg.quarters})
    charts = []
    for kpi in reg.kpis:
        values = overall[overall["id"] == kpi.id].set_index("quarter")["value"]
        frame[kpi.label] = frame["Quarter"].map(values)
        if kpi.target is not None:
            planned = f"{kpi.label}, planned"
            frame[planned] = [reg.planned(kpi, q) for q in reg.quarters]
            charts.append(Chart(kpi.label, kpi.unit, PROGRESS, "Quarter", (kpi.label, planned)))
    return Table(PROGRESS, frame), charts


def amif(s: Scope) -> Table:
    """One row per EU indicator a KPI maps to; persons by their breakdowns where there are some."""
    in_period = period_values(s)
    rows = []
    for kpi in s.registry.kpis:
        parts = _breakdown(s, kpi)
        for framework, refs in kpi.amif.items():
            for ref in refs:
                field = kpi.source.sheet and ref.value and s.registry.sheet(kpi.source.sheet).field(ref.value)
                rows.append({
                    "Framework": f"{s.registry.export.framework} {framework}",
                    "Legal reference": ref.ref,
                    "Indicator": ref.wording,
                    "Counted as": f"{field.label('en') if field else kpi.label} ({kpi.unit})",
                    f"Value {s.period}": _rows(s, kpi.source.sheet, s.period.first)[ref.value].sum()
                    if field else in_period[kpi.id],
                    **({} if field else parts),
                })
    frame = pd.DataFrame(rows, columns=["Framework", "Legal reference", "Indicator", "Counted as",
                                        f"Value {s.period}"] if not rows else None)
    people = list(frame.columns[5:])
    return Table(_indicators(s.registry), _suppress(frame, people), wrap=("Indicator",))


def _breakdown(s: Scope, kpi: Kpi) -> dict[str, float]:
    """Sums over the period of the parts a KPI's total is broken into (sums in the declaration)."""
    src = kpi.source
    rules = [r for r in s.registry.sums if r.sheet == src.sheet and r.total == src.value]
    if not rules:
        return {}
    rows = _rows(s, src.sheet, s.period.first)
    sheet = s.registry.sheet(src.sheet)
    return {sheet.field(p).label("en"): rows[p].sum() for r in rules for p in r.parts}


# ---- detail sheets ------------------------------------------------------------------------
def detail(s: Scope, shown: ExportSheet) -> Table:
    """A detail sheet as the declaration lists it: entities, per-country sums or rows."""
    entity = s.registry.entity_of(shown.sheet)
    if entity:
        return entities(s, entity, _title(s.registry, shown))
    if shown.per_country:
        return per_country(s, shown.sheet, _title(s.registry, shown))
    return listed(s, shown.sheet, _title(s.registry, shown))


def entities(s: Scope, name: str, title: str) -> Table:
    """Each entity's latest report up to the period's end (counted.latest), the KPIs it counts
    toward (counted.qualifies) and its per-quarter figures summed over the period."""
    reg = s.registry
    entity = reg.entities[name]
    sheet = reg.sheet(entity.sheet)
    stocks = [k for k in reg.kpis if k.source.entity == name]
    conditions = [counted.qualifies(reg, k) for k in stocks]
    flags = "".join(f", {sql} AS _counts_{i}" for i, (sql, _) in enumerate(conditions))
    latest = counted.run(s.con, f"SELECT *{flags} FROM ({counted.latest(reg, name)}) "
                         f"ORDER BY country, {entity.key}",
                         {"as_of": s.period.last, **{k: v for _, p in conditions for k, v in p.items()}}).df()
    latest[entity.key] = latest["record"]  # as first typed
    flows = [f.id for f in sheet.fields if f.per_quarter]
    if flows:
        keys = ["country", "_same"]
        rows = _rows(s, entity.sheet, s.period.first)
        summed = rows.assign(_same=rows[entity.key].map(same_id)).groupby(keys)[flows].sum()
        latest = latest.drop(columns=flows).assign(_same=latest[entity.key].map(same_id))
        latest = latest.join(summed, on=keys)
        latest[flows] = latest[flows].fillna(0).astype(int)
    frame = _labelled(latest, reg, entity.sheet, ["country", "quarter"])
    frame["Counts towards"] = ["; ".join(k.label for i, k in enumerate(stocks) if row[f"_counts_{i}"])
                               for row in latest.to_dict("records")]
    flow_labels = [sheet.field(f).label("en") for f in flows]
    frame = frame.rename(columns={
        "Quarter": "Last reported",
        **{label: f"{label.removesuffix(' this quarter')} in {s.period}" for label in flow_labels},
    })
    numbers = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if numbers:
        frame = _with_total(frame, numbers)
    return Table(title, frame, totals=bool(numbers), freeze_columns=2)


def per_country(s: Scope, sheet_id: str, title: str) -> Table:
    """Per country: the sheet's rows and each of its whole-number fields summed over the period,
    a flow KPI's field under the KPI's label; person counts under 5 shown as "<5"."""
    reg = s.registry
    sheet = reg.sheet(sheet_id)
    counts = [f.id for f in sheet.fields if f.type == "integer"]
    rows = _rows(s, sheet.id, s.period.first)
    grouped = rows.groupby("country")
    frame = pd.DataFrame({
        "Country": [c.code for c in reg.countries],
        "Name": [c.name for c in reg.countries],
    })
    frame[sheet.label("en")] = frame["Country"].map(grouped.size()).fillna(0).astype(int)
    names = {k.source.value: k.label for k in reg.kpis if k.source.sheet == sheet.id}
    for f in counts:
        label = names.get(f, sheet.field(f).label("en"))
        frame[label] = frame["Country"].map(grouped[f].sum()).fillna(0).astype(int)
    frame = _with_total(frame, list(frame.columns[2:]))
    return Table(title, _suppress(frame, list(frame.columns[3:]), totals=True),
                 totals=True, freeze_columns=2)


def listed(s: Scope, sheet_id: str, title: str) -> Table:
    """Every row of a sheet in the period, with a totals row of its numbers."""
    rows = _rows(s, sheet_id, s.period.first)
    frame = _labelled(rows, s.registry, sheet_id, ["country", "quarter", "organisation"])
    numbers = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    wrap = ("Organisation", *(f.label("en") for f in s.registry.sheet(sheet_id).fields
                              if f.type == "text" and not f.key))
    return Table(title, _with_total(frame, numbers), totals=True, freeze_columns=2, wrap=wrap)


def unique_participants(s: Scope) -> Table:
    """Per country: participations and unique participants from the registers, in the period and
    cumulatively ("not collected" where a country kept no register then); then unique participants
    (cumulative) by the register's breakdowns, small cells "<5"."""
    reg = s.registry
    period = people.by_country(s.con, reg, s.period.last, s.period.first)
    cumulative = people.by_country(s.con, reg, s.as_of)
    total = f"Unique participants to {s.as_of} (each person once)"
    frame = pd.DataFrame({
        "Country": period["country"],
        f"Participations {s.period} (a person once per activity)": _collected(
            period, "participations", people.collected(s.con, s.period.last, s.period.first)),
        f"Unique participants {s.period} (each person once)": _collected(
            period, "unique_participants", people.collected(s.con, s.period.last, s.period.first)),
        total: _collected(cumulative, "unique_participants", people.collected(s.con, s.as_of)),
    })
    rows, columns = people.breakdowns(reg)
    spec = reg.participant_register.sheet
    grid = people.by_sex_age(s.con, reg, s.as_of)
    for code, row in grid.iterrows():
        for other, n in row.items():
            named = [reg.code_lists[spec.field(rows).choices][code]["en"],
                     *([reg.code_lists[spec.field(columns).choices][other]["en"]] if columns else [])]
            frame.loc[len(frame)] = {"Country": f"to {s.as_of}: {', '.join(named)}", total: n}
    return Table(UNIQUE, _suppress(frame, list(frame.columns[1:])), freeze_columns=1)


def _collected(counts: pd.DataFrame, column: str, countries: set[str]) -> list:
    """A column of people.by_country, "not collected" for a country without registers (never 0);
    the total stays a number."""
    return [n if country in countries or country == "Total" else people.NOT_COLLECTED
            for country, n in zip(counts["country"], counts[column], strict=True)]


def submissions(s: Scope) -> Table:
    """Every version received up to the as-of quarter, current or superseded, and the gaps."""
    received = s.con.execute(
        f"""
        SELECT s.country AS "Country", s.quarter AS "Quarter", s.version AS "Version",
               c.partner AS "Partner", s.file_name AS "File name",
               s.submission_id AS "SHA-256", s.received_at AS "Received at", s.reporter,
               CASE WHEN s.submission_id IN (SELECT submission_id FROM current_submissions)
                    THEN 'current' ELSE 'superseded' END AS "Status",
               (SELECT count(*) FROM findings f
                WHERE f.submission_id = s.submission_id) AS "Warnings"
        FROM submissions s LEFT JOIN {s.registry.cover.id} c USING (submission_id)
        WHERE s.quarter <= ?
        """,
        [s.as_of],
    ).df()
    reported = set(zip(received["Country"], received["Quarter"], strict=True))
    missing = pd.DataFrame(
        [
            {"Country": c.code, "Quarter": q, "Status": "missing"}
            for q in s.registry.quarters if q <= s.as_of
            for c in s.registry.countries if (c.code, q) not in reported
        ],
        columns=["Country", "Quarter", "Status"],
    )
    frame = pd.concat([received, missing], ignore_index=True)
    frame.insert(2, "Due", frame["Quarter"].map(s.registry.due_date))
    if _has_table(s.con, "review"):  # the coordination's review of each current version
        states = s.con.execute("SELECT country, quarter, organisation, version, state FROM review "
                               "WHERE version IS NOT NULL").fetchall()
        reviewed = {(c, q, o, int(v)): state for c, q, o, v, state in states}
        keys = zip(frame["Country"], frame["Quarter"], frame["reporter"], frame["Version"], strict=True)
        frame["Review"] = [reviewed.get(key, "") if status == "current" else ""
                           for key, status in zip(keys, frame["Status"], strict=True)]
    frame = frame.drop(columns="reporter")
    frame = frame.sort_values(["Quarter", "Country", "Version"], na_position="first")
    return Table("Submissions & data quality", frame.reset_index(drop=True), freeze_columns=2,
                 formats={"Version": "0"})


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    (found,) = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()
    return bool(found)


def revisions(snap: Snapshot) -> Table:
    """The figures of earlier reported packs that changed, as frozen with the snapshot."""
    frame = snap.con.execute("SELECT * FROM revisions").df() if "revisions" in snap.manifest["tables"] \
        else pd.DataFrame(columns=submitted.COLUMNS)
    return Table(REVISIONS, frame, wrap=("Versions changed since",))


def definitions(s: Scope) -> Table:
    frame = pd.DataFrame([
        {
            "KPI id": k.id,
            "Label": k.label,
            "Description": k.description,
            "Unit": k.unit,
            "Measure": k.measure,
            "Target": k.target,
            "Counting rule": k.counting_rule,
        }
        for k in s.registry.kpis
    ])
    return Table("Definitions", frame, wrap=("Description", "Counting rule"), freeze_columns=1)


# ---- helpers ------------------------------------------------------------------------------
def _rows(s: Scope, sheet: str, first: str) -> pd.DataFrame:
    """A template sheet's rows from the current versions of the quarters first..period end, with
    the organisation whose workbook each came in."""
    return counted.run(s.con, f"""
        SELECT r.*, coalesce(s.organisation, '') AS organisation
        FROM ({counted.sheet_rows(sheet)}) r JOIN submissions s USING (submission_id)
        ORDER BY r.country, r.quarter, r.received_at, r.source_row""",
                       {"as_of": s.period.last, "first": first}).df()


def _labelled(rows: pd.DataFrame, reg: Registry, sheet_id: str, lead: list[str]) -> pd.DataFrame:
    """The lead columns, then the sheet's fields in order (internal ones left out), with English
    labels and coded values written as their English label. A field declared after the rows were
    loaded is an empty column."""
    sheet = reg.sheet(sheet_id)
    frame = pd.DataFrame({c.title(): rows[c].to_numpy() for c in lead})
    for f in sheet.fields:
        if f.internal:
            continue
        values = rows[f.id] if f.id in rows else pd.Series([None] * len(rows), dtype=object)
        if f.type == "choice":
            codes = reg.code_lists[f.choices]
            values = values.map(lambda v, codes=codes: codes[v]["en"] if v in codes else v)
        elif f.type == "date":
            values = values.map(lambda v: v.date() if isinstance(v, dt.datetime) else v)
        frame[f.label("en")] = values.to_numpy()
    return frame.reset_index(drop=True)


def _with_total(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A last row "Total" in the first column, with the sum of each of `columns`."""
    total = {frame.columns[0]: TOTAL, **{c: frame[c].sum() for c in columns}}
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def _suppress(frame: pd.DataFrame, columns: list[str], totals: bool = False) -> pd.DataFrame:
    """Person counts from 1 to SMALL - 1 become "<5"; 0 stays 0 and a totals row stays whole."""
    out = frame.copy()
    for column in columns:
        numbers = pd.to_numeric(out[column], errors="coerce")
        small = numbers.gt(0) & numbers.lt(SMALL)
        if totals:
            small.iloc[-1] = False
        out[column] = out[column].astype(object).mask(small, SUPPRESSED)
    return out
