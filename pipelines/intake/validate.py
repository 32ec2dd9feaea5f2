"""Validate read workbooks with great-expectations suites built from indicators.yaml.

One suite per template sheet, run once over the rows of every workbook of a batch stacked
together (with `_file` and `_row` to find each failing cell again): the cost of
great-expectations is per expectation, not per row, so a batch of 60 workbooks costs about what
one does. Checks across sheets, quarters and the uploader compare each row with columns added
to the stacked frame (the quarter, the stamp, last quarter's status, the country's largest
figure so far, what other organisations of the country report). Ids are compared as people
type them (history.same_id: "C1 " and "c1" are one council). The suites run through
pipelines/intake/expectations.py.

Across organisations of a country that reports per partner organisation: an entity is one entity
whoever reports it, so two organisations giving it different statuses in one quarter is a
warning naming the other; a flow row id (an activity) another organisation also reports is a
warning too (it may be counted twice).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.declaration import quarters
from pipelines.declaration.registry import Registry, Sheet
from pipelines.intake import findings as F
from pipelines.intake import register, register_checks
from pipelines.intake.expectations import INDEX, PAIR, Check, run
from pipelines.intake.history import History, same_id
from pipelines.intake.read import ReadBook


@dataclass(frozen=True)
class Allowed:
    """What a sender may report for: one country (None: any) and, in a country reporting per
    partner organisation, one organisation (None: any of the country's)."""

    country: str | None = None
    organisation: str | None = None


def validate(books: list[ReadBook], registry: Registry, history: History | None = None,
             allowed: Allowed | dict[str, Allowed] | None = None) -> dict[str, list[F.Finding]]:
    """Findings per workbook (by sha256), including those the reader found. `allowed` is what
    the sender may report for, or that per sha256 (None: anything)."""
    history = history or History()
    found = {b.sha256: list(b.findings) for b in books}
    for book in books:
        sender = (allowed.get(book.sha256) if isinstance(allowed, dict) else allowed) or Allowed()
        misaddressed = _other_country(book, sender.country) or _other_organisation(book, sender, registry)
        if misaddressed:
            found[book.sha256].append(misaddressed)
    readable = [b for b in books if b.sheets and not F.has_errors(found[b.sha256][len(b.findings):])]
    by_sha = {b.sha256: b for b in readable}
    for book in readable:
        if not book.stamp:
            found[book.sha256].append(F.error("missing_stamp"))
    for sheet in registry.template.sheets:
        frame = _stack(readable, sheet, registry, history)
        if frame.empty:
            continue
        for check, rows in run(frame, _checks(sheet, registry)):
            for row in rows:
                book = by_sha[row["_file"]]
                found[book.sha256].append(_finding(book, sheet, check, row, registry))
    for book in readable:
        found[book.sha256] += _register_sheet(book, registry)
    return {sha: _unique(items) for sha, items in found.items()}


def _other_country(book: ReadBook, sender: str | None) -> F.Finding | None:
    """A workbook whose cover or stamp names a country the sender may not report for is refused
    with this one finding, before any check compares it with that country's history: its
    findings would tell the sender another country's figures, ids and statuses."""
    if not sender:
        return None
    named = [c for c in (book.cover.get("country"), book.stamp.get("country")) if c and c != sender]
    if not named:
        return None
    cover = book.sheets.get(book.cover_id)
    cell = cover.cell("country") if cover is not None and named[0] == book.cover.get("country") else ""
    return F.error("uploader_country", sheet=cover.name if cell else "", cell=cell,
                   value=named[0], expected=sender)


def _other_organisation(book: ReadBook, sender: Allowed, registry: Registry) -> F.Finding | None:
    """In a country reporting per organisation, a partner sends and corrects its own
    organisation's workbook only."""
    if not (sender.organisation and registry.per_partner(book.country) and book.organisation):
        return None
    if same_id(book.organisation) == same_id(sender.organisation):
        return None
    cover = book.sheets[book.cover_id]
    return F.error("uploader_organisation", sheet=cover.name, cell=cover.cell("partner"),
                   value=book.organisation, expected=sender.organisation)


def _register_sheet(book: ReadBook, registry: Registry) -> list[F.Finding]:
    """A register sheet's findings, checked against the same workbook's activities."""
    carried = register.from_book(book, registry)
    if carried is None:
        return []
    activities = book.sheets.get(registry.participant_register.reconcile.sheet)
    if activities is None:
        return []
    return register_checks.check(carried, registry, activities.frame)


def _unique(items: list[F.Finding]) -> list[F.Finding]:
    """Each finding once; a cell the reader could not read is not also reported as empty."""
    unreadable = {(f.sheet, f.cell) for f in items
                  if f.rule in ("not_a_number", "not_whole", "not_a_date", "ambiguous_number",
                                "formula_without_value")}
    missing = {(f.sheet_id, f.field) for f in items if f.rule in ("missing_column", "missing_row")}
    kept = [f for f in items if not (f.rule == "required" and ((f.sheet, f.cell) in unreadable
                                                                or (f.sheet_id, f.field) in missing))]
    return list(dict.fromkeys(kept))


def _stack(books: list[ReadBook], sheet: Sheet, registry: Registry, history: History) -> pd.DataFrame:
    """The sheet's rows of every workbook, with the columns the checks compare against."""
    frames = []
    for book in books:
        if sheet.id not in book.sheets:
            continue
        frame = book.sheets[sheet.id].frame.copy()
        quarter = book.stamp.get("quarter") or book.quarter
        valid = quarter in registry.quarters
        frame["_file"] = book.sha256
        country = book.stamp.get("country") or book.country
        frame["_country"] = country
        frame["_quarter"] = quarter
        frame["_q_start"] = pd.Timestamp(quarters.first_day(quarter)) if valid else pd.NaT
        frame["_q_end"] = pd.Timestamp(quarters.last_day(quarter)) if valid else pd.NaT
        frame["_stamp_country"] = book.stamp.get("country")
        frame["_stamp_quarter"] = book.stamp.get("quarter")
        frame["_stamp_version"] = book.stamp.get("template_version")
        frame["_organisation"] = book.organisation
        frame["_reporter"] = registry.reporter(country, book.organisation)
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    if frame.empty:
        return frame
    if sheet.key:
        frame["_id"] = frame[sheet.key].map(same_id)
    for rule in registry.sums:
        if rule.sheet == sheet.id:
            frame[f"_sum_{rule.label}"] = frame[rule.parts].sum(axis=1, min_count=len(rule.parts))
    for name, entity in registry.entities.items():
        if entity.sheet == sheet.id:
            frame = _with_previous_status(frame, name, entity, history)
            frame = _with_others(frame, _reports(frame, history.entities[history.entities["entity"] == name],
                                                 entity.status_field), same_quarter=True,
                                 compared=entity.status_field)
    if sheet.id in registry.flow_sheets() and sheet.key and registry.entity_of(sheet.id) is None:
        records = history.records[history.records["sheet"] == sheet.id]
        frame = _with_others(frame, _reports(frame, records), same_quarter=False)
    for watched in registry.outliers.fields:
        if watched.sheet == sheet.id:
            frame = _with_history_of(frame, watched, history, registry)
    for ref in registry.references:
        if ref.sheet == sheet.id:
            frame = _with_known_references(frame, ref, registry, books, history)
    return frame


def _with_previous_status(frame: pd.DataFrame, name: str, entity, history: History) -> pd.DataFrame:
    """Last quarter's status of each entity, and whether this one goes back without a comment."""
    earlier = history.entities[history.entities["entity"] == name]
    earlier = earlier.assign(_id=earlier["id"].map(same_id)).rename(
        columns={"country": "_country", "quarter": "_previous_quarter", "status": "_previous_status"})[
        ["_country", "_id", "_previous_quarter", "_previous_status"]]
    merged = frame.merge(earlier, on=["_country", "_id"], how="left")
    merged = merged[merged["_previous_quarter"].isna() | (merged["_previous_quarter"] < merged["_quarter"])]
    merged = merged.sort_values("_previous_quarter").drop_duplicates(INDEX, keep="last")
    merged = frame.merge(merged[[*INDEX, "_previous_quarter", "_previous_status"]], on=INDEX, how="left")
    rank = merged[entity.status_field].map(entity.progression)
    previous = merged["_previous_status"].map(entity.progression)
    explained = merged[entity.explanation_field].fillna("").astype(str).str.strip() != ""
    merged["_status_ok"] = ~(rank < previous) | explained
    return merged


def _reports(frame: pd.DataFrame, earlier: pd.DataFrame, status: str | None = None) -> pd.DataFrame:
    """Who reports each id: the earlier current workbooks and this batch's, as rows of country,
    compared id, quarter, reporter, organisation (and status)."""
    batch = pd.DataFrame({"country": frame["_country"], "_id": frame["_id"], "quarter": frame["_quarter"],
                          "reporter": frame["_reporter"], "organisation": frame["_organisation"],
                          "_value": frame[status] if status else None})
    earlier = earlier.assign(_id=earlier["id"].map(same_id), _value=earlier.get("status"))
    return pd.concat([earlier[batch.columns], batch], ignore_index=True).dropna(subset=["_id"])


def _with_others(frame: pd.DataFrame, reports: pd.DataFrame, same_quarter: bool,
                 compared: str | None = None) -> pd.DataFrame:
    """For each row, another organisation of the country reporting the same id (in the same
    quarter, with another value of `compared`, when given): `_other_organisation`, `_other_quarter`
    and `_other_value`, and `_alone`, False when there is one."""
    mine = frame[[*INDEX, "_country", "_id", "_quarter", "_reporter", *([compared] if compared else [])]]
    both = mine.merge(reports.rename(columns={"country": "_country"}), on=["_country", "_id"])
    both = both[both["reporter"] != both["_reporter"]]
    if same_quarter:
        both = both[both["quarter"] == both["_quarter"]]
    if compared:
        both = both[both["_value"].astype(str) != both[compared].astype(str)]
    first = both.sort_values("quarter").drop_duplicates(INDEX).rename(columns={
        "organisation": "_other_organisation", "quarter": "_other_quarter", "_value": "_other_value"})
    frame = frame.merge(first[[*INDEX, "_other_organisation", "_other_quarter", "_other_value"]],
                        on=INDEX, how="left")
    frame["_alone"] = frame["_other_organisation"].isna()
    return frame


def _with_history_of(frame: pd.DataFrame, watched, history: History, registry: Registry) -> pd.DataFrame:
    """The country's largest earlier figure (per `by` value) and how many quarters it spans."""
    figures = history.figures[(history.figures["sheet"] == watched.sheet)
                              & (history.figures["field"] == watched.field)]
    by = frame[watched.by].astype(str) if watched.by else pd.Series("", index=frame.index)
    keys = pd.DataFrame({"_country": frame["_country"], "_quarter": frame["_quarter"], "_by": by})
    past = []
    for country, quarter, value in keys.drop_duplicates().itertuples(index=False):
        before = figures[(figures["country"] == country) & (figures["quarter"] < quarter)]
        if watched.by:
            before = before[before["by"] == value]
        past.append({"_country": country, "_quarter": quarter, "_by": value,
                     "largest": before["largest"].max() if len(before) else None,
                     "count": before["quarter"].nunique(),
                     "span": f"{before['quarter'].min()}–{before['quarter'].max()}" if len(before) else ""})
    looked_up = keys.merge(pd.DataFrame(past), on=["_country", "_quarter", "_by"], how="left")
    looked_up.index = frame.index
    largest = looked_up["largest"].astype("float64")
    value = frame[watched.field]
    limit = largest * registry.outliers.factor
    frame = frame.copy()
    frame[f"_largest_{watched.field}"] = largest
    frame[f"_history_{watched.field}"] = looked_up["span"]
    frame[f"_times_{watched.field}"] = (value / largest).round(1)
    frame[f"_ok_{watched.field}"] = ((looked_up["count"] < registry.outliers.min_quarters) | value.isna()
                                     | limit.isna() | (value <= limit))
    return frame


def _checks(sheet: Sheet, registry: Registry) -> list[Check]:
    """The suite of one sheet, from its fields and the rules of indicators.yaml that name it."""
    import great_expectations as gx

    E = gx.expectations
    checks = []
    for f in sheet.fields:
        if f.required:
            checks.append(Check(E.ExpectColumnValuesToNotBeNull(column=f.id), "required", f.id))
        if f.type == "choice":
            allowed = list(registry.code_lists[f.choices])
            checks.append(Check(E.ExpectColumnValuesToBeInSet(column=f.id, value_set=allowed),
                                "allowed", f.id))
        if f.type == "integer" and f.min is not None:
            checks.append(Check(E.ExpectColumnValuesToBeBetween(column=f.id, min_value=f.min), "min", f.id,
                                params={"min": f"{f.min:g}"}))
        if f.type == "date" and sheet.layout == "table":
            checks.append(Check(E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="_q_end", column_B=f.id, or_equal=True, **PAIR), "date_after_quarter", f.id,
                row_params={"quarter": "_quarter"}))
        if f.in_quarter:
            checks.append(Check(E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=f.id, column_B="_q_start", or_equal=True, **PAIR), "date_before_quarter", f.id,
                row_params={"quarter": "_quarter"}))
        if f.key:
            checks.append(Check(E.ExpectCompoundColumnsToBeUnique(column_list=["_file", "_id"]),
                                "unique", f.id))
    if sheet.layout == "form":
        checks += _cover_checks(registry, E)
    for rule in registry.sums:
        if rule.sheet == sheet.id:
            checks.append(Check(E.ExpectColumnPairValuesToBeEqual(
                column_A=rule.total, column_B=f"_sum_{rule.label}", **PAIR), "sum", rule.total,
                row_params={"sum": f"_sum_{rule.label}"},
                params={"parts": ",".join(rule.parts), "breakdown": rule.label}))
    for rule in registry.not_above:
        if rule.sheet == sheet.id:
            checks.append(Check(E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=rule.limit, column_B=rule.field, or_equal=True, **PAIR), "not_above", rule.field,
                row_params={"limit_value": rule.limit}, params={"limit": rule.limit}))
    for ref in registry.references:
        if ref.sheet == sheet.id:
            checks.append(_reference_check(ref, registry, E))
    for entity in registry.entities.values():
        if entity.sheet == sheet.id:
            checks.append(Check(E.ExpectColumnValuesToBeInSet(column="_status_ok", value_set=[True]),
                                "status_backwards", entity.status_field, severity="warning",
                                row_params={"entity": entity.key, "previous": "_previous_status",
                                            "previous_quarter": "_previous_quarter"},
                                params={"explain": entity.explanation_field}))
    checks += _organisation_checks(sheet, registry, E)
    for watched in registry.outliers.fields:
        if watched.sheet == sheet.id:
            ok = f"_ok_{watched.field}"
            checks.append(Check(E.ExpectColumnValuesToBeInSet(column=ok, value_set=[True]), "outlier",
                                watched.field, severity="warning",
                                row_params={"largest": f"_largest_{watched.field}",
                                            "history": f"_history_{watched.field}",
                                            "times": f"_times_{watched.field}"}))
    return checks


def _organisation_checks(sheet: Sheet, registry: Registry, E) -> list[Check]:
    """Warnings about what another organisation of the country reports (`_with_others`)."""
    alone = E.ExpectColumnValuesToBeInSet(column="_alone", value_set=[True])
    entity = registry.entity_of(sheet.id)
    if entity is not None:
        status = registry.entities[entity].status_field
        return [Check(alone, "status_conflict", status, severity="warning",
                      row_params={"organisation": "_other_organisation", "other": "_other_value",
                                  "entity": sheet.key})]
    if sheet.id in registry.flow_sheets() and sheet.key:
        return [Check(alone, "reported_by_other", sheet.key, severity="warning",
                      row_params={"organisation": "_other_organisation", "quarter": "_other_quarter"})]
    return []


def _reference_check(ref, registry: Registry, E) -> Check:
    """An id must name an entity of this batch's workbooks or of the country's earlier reports."""
    target = registry.sheet(registry.entities[ref.entity].sheet)
    return Check(E.ExpectColumnValuesToBeInSet(column=f"_known_{ref.field}", value_set=[True]),
                 "unknown_reference", ref.field,
                 params={"target": ref.entity, "target_sheet": target.label("en")})


def _with_known_references(frame: pd.DataFrame, ref, registry: Registry, books: list[ReadBook],
                           history: History) -> pd.DataFrame:
    """Whether each id names an entity known in the batch or from earlier reports (or is blank)."""
    entity = registry.entities[ref.entity]
    known = set(history.known(ref.entity))
    for book in books:
        if entity.sheet in book.sheets:
            ids = book.sheets[entity.sheet].frame[entity.key].dropna()
            known |= {(book.stamp.get("country") or book.country, same_id(i)) for i in ids}
    pairs = pd.Series(list(zip(frame["_country"], frame[ref.field].map(same_id), strict=True)),
                      index=frame.index)
    frame = frame.copy()
    frame[f"_known_{ref.field}"] = frame[ref.field].isna() | pairs.isin(known)
    return frame


def _cover_checks(registry: Registry, E) -> list[Check]:
    partners = [(c.code, p) for c in registry.countries for p in c.partners]
    period = f"{registry.quarters[0]}–{registry.quarters[-1]}"
    return [
        Check(E.ExpectColumnValuesToBeInSet(column="country", value_set=[c.code for c in registry.countries]),
              "allowed", "country"),
        Check(E.ExpectColumnValuesToBeInSet(column="quarter", value_set=registry.quarters), "period",
              "quarter", params={"period": period}),
        Check(E.ExpectColumnPairValuesToBeEqual(column_A="country", column_B="_stamp_country", **PAIR),
              "stamp_country", "country", row_params={"stamp": "_stamp_country"}),
        Check(E.ExpectColumnPairValuesToBeEqual(column_A="quarter", column_B="_stamp_quarter", **PAIR),
              "stamp_quarter", "quarter", row_params={"stamp": "_stamp_quarter"}),
        Check(E.ExpectColumnValuesToBeInSet(column="_stamp_version",
                                            value_set=registry.project.known_template_versions),
              "template_version", None, row_params={"value": "_stamp_version"}),
        Check(E.ExpectColumnPairValuesToBeInSet(column_A="country", column_B="partner",
                                                value_pairs_set=partners, **PAIR), "partner", "partner"),
    ]


def _finding(book: ReadBook, sheet: Sheet, check: Check, row: dict, registry: Registry) -> F.Finding:
    data = book.sheets[sheet.id]
    value = row.get(check.field) if check.field else None
    params = {**check.params, **{name: row.get(column) for name, column in check.row_params.items()}}
    value = params.pop("value", value)
    cell = data.cell(check.field, row["_row"] or None) if check.field else ""
    return F.make(check.severity, check.rule, registry, sheet=data.name if check.field else "",
                  cell=cell, value=value, sheet_id=sheet.id, field=check.field or "", **params)
