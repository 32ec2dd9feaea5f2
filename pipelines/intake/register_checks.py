"""Validate a participant register and reconcile it with the quarter's Activities sheet.

Validation is one great-expectations suite (pipelines/intake/expectations.py: a pass-or-fail run,
then the failing rows of the checks that failed): every field required, coded values in their
code list, the date inside the quarter, the activity one of the quarter's activities. Each
finding names the file or sheet, the cell and the fix; at most MAX_PER_RULE per rule are
listed (the first ones), with the count of the rest in the last. A finding never echoes a
participant code: its value is left blank.

Reconciliation (warnings): participations per activity (distinct people per activity: a person
listed for two sessions of one activity is one participation, as in the Activities sheet) and
per coded value (by sex, by age bracket, third-country nationals) against the Activities sheet's
columns named in `participant_register.reconcile`. Activity ids are compared as people type
them (history.same_id: surrounding spaces and letter case ignored).
"""

from __future__ import annotations

import pandas as pd

from pipelines.declaration import quarters
from pipelines.declaration.registry import Registry
from pipelines.intake import findings as F
from pipelines.intake.expectations import PAIR, Check, run
from pipelines.intake.history import same_id
from pipelines.intake.register import Register
from pipelines.store import pseudonym

MAX_PER_RULE = 50


def check(reg: Register, registry: Registry, activities: pd.DataFrame | None) -> list[F.Finding]:
    """The register's findings: the reader's, then validation's, then (when there are no errors
    and the quarter has an Activities sheet) the reconciliation's warnings."""
    found = list(reg.findings)
    if F.has_errors(found) or reg.frame.empty:
        return found
    if activities is None:
        return [*found, F.error("register_no_workbook", value=reg.name, country=reg.country,
                                quarter=reg.quarter)]
    known = set(activities[registry.participant_register.reconcile.key].map(same_id))
    found += _validate(reg, registry, known)
    if not F.has_errors(found):
        found += reconcile(reg, registry, activities)
    return found


def _validate(reg: Register, registry: Registry, activity_ids: set) -> list[F.Finding]:
    import great_expectations as gx

    E = gx.expectations
    spec = registry.participant_register
    frame = reg.frame.copy()
    frame["_file"] = reg.id
    frame["_q_start"] = pd.Timestamp(quarters.first_day(reg.quarter))
    frame["_q_end"] = pd.Timestamp(quarters.last_day(reg.quarter))
    frame["_quarter"] = reg.quarter
    frame["_known"] = frame[spec.activity].isna() | frame[spec.activity].map(same_id).isin(activity_ids)
    checks = []
    for f in spec.sheet.fields:
        if f.required:
            checks.append(Check(E.ExpectColumnValuesToNotBeNull(column=f.id), "required", f.id))
        if f.type == "choice":
            checks.append(Check(E.ExpectColumnValuesToBeInSet(
                column=f.id, value_set=list(registry.code_lists[f.choices])), "allowed", f.id))
        if f.in_quarter:
            for rule, a, b in (("date_before_quarter", f.id, "_q_start"),
                               ("date_after_quarter", "_q_end", f.id)):
                checks.append(Check(E.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=a, column_B=b, or_equal=True, **PAIR), rule, f.id,
                    row_params={"quarter": "_quarter"}))
    checks.append(Check(E.ExpectColumnValuesToBeInSet(column="_known", value_set=[True]),
                                 "register_activity", spec.activity, params={"quarter": reg.quarter}))
    out = []
    for item, rows in run(frame, checks):
        for number, row in enumerate(rows[:MAX_PER_RULE]):
            more = len(rows) - MAX_PER_RULE if number == MAX_PER_RULE - 1 else 0
            out.append(_finding(reg, registry, item, row, more))
    return out


def _finding(reg: Register, registry: Registry, item: Check, row: dict, more: int) -> F.Finding:
    spec = registry.participant_register
    value = "" if item.field == spec.code else row.get(item.field)
    params = {**item.params, **{name: row.get(col) for name, col in item.row_params.items()}}
    found = F.make("error", item.rule, registry, sheet=reg.name, cell=reg.cell(item.field, row["_row"]),
                   value=value, sheet_id=spec.sheet.id, field=item.field, **params)
    if more:  # the rest of the same problem, counted rather than listed
        found = F.Finding(**{**found.__dict__, "message": f"{found.message} (and {more:,} more rows)"})
    return found


def reconcile(reg: Register, registry: Registry, activities: pd.DataFrame) -> list[F.Finding]:
    """A warning per activity and count where the register and the Activities sheet differ."""
    spec = registry.participant_register
    rec = spec.reconcile
    codes = reg.frame[spec.code]
    people = reg.frame.assign(_person=codes.map({c: pseudonym.normalise(c) for c in pd.unique(codes)}),
                              _activity=reg.frame[spec.activity].map(same_id))
    pairs = people.drop_duplicates(["_activity", "_person"])
    measures = {rec.total: pairs.groupby("_activity").size()}
    for field_id, codes in rec.parts.items():
        for code, column in codes.items():
            matching = people[people[field_id] == code].drop_duplicates(["_activity", "_person"])
            measures[column] = matching.groupby("_activity").size()
    sheet = registry.sheet(rec.sheet)
    out = []
    for record in activities.to_dict("records"):
        activity = record[rec.key]
        for column, counted in measures.items():
            in_register = int(counted.get(same_id(activity), 0))
            in_sheet = record.get(column)
            in_sheet = 0 if in_sheet is None or in_sheet != in_sheet else int(in_sheet)
            if in_register != in_sheet:
                out.append(F.warning("register_mismatch", registry, sheet=reg.name, value=activity,
                                     sheet_id=rec.sheet, field=column, activity=activity,
                                     register=in_register, sheet_value=in_sheet,
                                     sheet_name=sheet.label("en")))
    return out

