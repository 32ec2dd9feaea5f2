"""Validate read workbooks with great-expectations suites built from indicators.yaml.

One suite per template sheet, run once over the rows of every workbook of a batch stacked
together (with `_file` and `_row` to find each failing cell again): the cost of
great-expectations is per expectation, not per row, so a batch of 60 workbooks costs about what
one does. Great-expectations is imported lazily (it takes seconds) and run under a lock, with a
fresh ephemeral context each time, because it is not thread-safe.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import pandas as pd

from pipelines import findings as F
from pipelines import quarters
from pipelines.read import ReadBook
from pipelines.registry import Registry, Sheet

_LOCK = threading.Lock()
INDEX = ["_file", "_row"]


@dataclass(frozen=True)
class Check:
    """An expectation and what its failure means for the partner."""

    expectation: object
    rule: str
    field: str  # the field whose cell is marked
    message: str  # formatted with the failing row's values and {label}, {value}


def validate(books: list[ReadBook], registry: Registry) -> dict[str, list[F.Finding]]:
    """Findings per workbook (by sha256), including those the reader found."""
    found = {b.sha256: list(b.findings) for b in books}
    readable = [b for b in books if b.sheets]
    for sheet in registry.template.sheets:
        frame = _stack(readable, sheet, registry)
        if frame.empty:
            continue
        for check, rows in _run(frame, _checks(sheet, registry)):
            for row in rows:
                book = next(b for b in readable if b.sha256 == row["_file"])
                found[book.sha256].append(_finding(book, sheet, check, row))
    for book in readable:
        if not book.stamp:
            found[book.sha256].append(
                F.error(
                    "stamp",
                    "This workbook was not made from the project's template (its hidden "
                    "stamp is missing). Download the template for your country and quarter and "
                    "copy your data into it.",
                )
            )
    return {sha: _unique(items) for sha, items in found.items()}


def _unique(items: list[F.Finding]) -> list[F.Finding]:
    """Each finding once; a cell the reader could not read is not also reported as blank."""
    unreadable = {(f.sheet, f.cell) for f in items if f.rule == "type"}
    kept = [f for f in items if not (f.rule == "required" and (f.sheet, f.cell) in unreadable)]
    return list(dict.fromkeys(kept))


def _stack(books: list[ReadBook], sheet: Sheet, registry: Registry) -> pd.DataFrame:
    """The sheet's rows of every workbook, with the columns the checks compare against."""
    frames = []
    for book in books:
        if sheet.id not in book.sheets:
            continue
        frame = book.sheets[sheet.id].frame.copy()
        frame["_file"] = book.sha256
        quarter = book.stamp.get("quarter") or book.quarter
        valid = quarter in registry.quarters
        frame["_q_start"] = pd.Timestamp(quarters.first_day(quarter)) if valid else pd.NaT
        frame["_q_end"] = pd.Timestamp(quarters.last_day(quarter)) if valid else pd.NaT
        frame["_stamp_country"] = book.stamp.get("country")
        frame["_stamp_quarter"] = book.stamp.get("quarter")
        frame["_stamp_version"] = book.stamp.get("template_version")
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    for rule in registry.sums:
        if rule.sheet == sheet.id:
            frame[f"_sum_{rule.label}"] = frame[rule.parts].sum(axis=1, min_count=len(rule.parts))
    return frame


def _checks(sheet: Sheet, registry: Registry) -> list[Check]:
    """The suite of one sheet, from its fields and the cross-field rules that name it."""
    import great_expectations as gx

    E = gx.expectations
    pair = {"ignore_row_if": "either_value_is_missing"}
    checks = []
    for f in sheet.fields:
        if f.required:
            checks.append(
                Check(
                    E.ExpectColumnValuesToNotBeNull(column=f.id),
                    "required",
                    f.id,
                    "'{label}' is required. Fill it in.",
                )
            )
        if f.type == "choice":
            allowed = list(registry.code_lists[f.choices])
            checks.append(
                Check(
                    E.ExpectColumnValuesToBeInSet(column=f.id, value_set=allowed),
                    "allowed",
                    f.id,
                    "'{value}' is not an allowed value for "
                    "'{label}'. Choose one from the drop-down list.",
                )
            )
        if f.type == "integer" and f.min is not None:
            checks.append(
                Check(
                    E.ExpectColumnValuesToBeBetween(column=f.id, min_value=f.min),
                    "min",
                    f.id,
                    f"'{{label}}' cannot be below {f.min:g}.",
                )
            )
        if f.type == "date" and sheet.layout == "table":
            checks.append(
                Check(
                    E.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A="_q_end", column_B=f.id, or_equal=True, **pair
                    ),
                    "date_after_quarter",
                    f.id,
                    "'{label}' {value} is after the end of the quarter reported. Check the "
                    "date, or report it in the workbook of the quarter it belongs to.",
                )
            )
        if f.in_quarter:
            checks.append(
                Check(
                    E.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A=f.id, column_B="_q_start", or_equal=True, **pair
                    ),
                    "date_before_quarter",
                    f.id,
                    "'{label}' {value} is before the quarter reported. Report it in the "
                    "workbook of the quarter it belongs to.",
                )
            )
        if f.key:
            checks.append(
                Check(
                    E.ExpectCompoundColumnsToBeUnique(column_list=["_file", f.id]),
                    "unique",
                    f.id,
                    "The id '{value}' is used on more than one row "
                    "of this sheet. Give each row its own id.",
                )
            )
    if sheet.id == "cover":
        checks += _cover_checks(registry, E, pair)
    for rule in registry.sums:
        if rule.sheet == sheet.id:
            parts = ", ".join(f"'{sheet.field(p).label('en')}'" for p in rule.parts)
            checks.append(
                Check(
                    E.ExpectColumnPairValuesToBeEqual(
                        column_A=rule.total, column_B=f"_sum_{rule.label}", **pair
                    ),
                    "sum",
                    rule.total,
                    f"The participants by {rule.label} ({parts}) add up to {{_sum_{rule.label}}}, "
                    "but '{label}' is {value}. Make the parts add up to the total; put people "
                    f"whose {rule.label} is not known in the unknown column.",
                )
            )
    for rule in registry.not_above:
        if rule.sheet == sheet.id:
            limit = sheet.field(rule.limit).label("en")
            checks.append(
                Check(
                    E.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A=rule.limit, column_B=rule.field, or_equal=True, **pair
                    ),
                    "not_above",
                    rule.field,
                    f"'{{label}}' ({{value}}) is more than '{limit}' "
                    f"({{{rule.limit}}}). It can be at most '{limit}'.",
                )
            )
    return checks


def _cover_checks(registry: Registry, E, pair: dict) -> list[Check]:
    period = f"{registry.quarters[0]} to {registry.quarters[-1]}"
    partners = [(c.code, p) for c in registry.countries for p in c.partners]
    return [
        Check(
            E.ExpectColumnValuesToBeInSet(
                column="country", value_set=[c.code for c in registry.countries]
            ),
            "allowed",
            "country",
            "'{value}' is not one of the project's countries.",
        ),
        Check(
            E.ExpectColumnValuesToBeInSet(column="quarter", value_set=registry.quarters),
            "period",
            "quarter",
            f"'{{value}}' is outside the project period ({period}).",
        ),
        Check(
            E.ExpectColumnPairValuesToBeEqual(
                column_A="country", column_B="_stamp_country", **pair
            ),
            "stamp",
            "country",
            "The cover says '{value}' but this workbook was made for {_stamp_country}. "
            "Download the template for your own country.",
        ),
        Check(
            E.ExpectColumnPairValuesToBeEqual(
                column_A="quarter", column_B="_stamp_quarter", **pair
            ),
            "stamp",
            "quarter",
            "The cover says '{value}' but this workbook was made for {_stamp_quarter}. "
            "Download the template for the quarter you report.",
        ),
        Check(
            E.ExpectColumnValuesToBeInSet(
                column="_stamp_version", value_set=registry.project.known_template_versions
            ),
            "template_version",
            "country",
            "This workbook was made from template version "
            "'{_stamp_version}', which is not known. Download the current template.",
        ),
        Check(
            E.ExpectColumnPairValuesToBeInSet(
                column_A="country", column_B="partner", value_pairs_set=partners, **pair
            ),
            "partner",
            "partner",
            "'{value}' is not a partner organisation of this country. "
            "Choose your organisation from the drop-down list.",
        ),
    ]


def _run(frame: pd.DataFrame, checks: list[Check]) -> list[tuple[Check, list[dict]]]:
    """Run the checks once over the frame; return each failed check with its failing rows."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    with _LOCK:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = {"globally": False}
        asset = context.data_sources.add_pandas("workbooks").add_dataframe_asset("sheet")
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame}
        )
        suite = gx.ExpectationSuite(name="sheet")
        for number, check in enumerate(checks):
            check.expectation.meta = {"check": number}
            suite.add_expectation(check.expectation)
        result = batch.validate(
            suite,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": INDEX},
        )
    failed = []
    for outcome in result.results:
        check = checks[outcome.expectation_config.meta["check"]]
        if not outcome.success:
            rows = [_clean(r) for r in outcome.result.get("unexpected_index_list") or []]
            failed.append((check, _with_values(frame, rows)))
    return failed


def _clean(row: dict) -> dict:
    """great-expectations returns index values as numpy scalars or strings: make them plain."""
    out = dict(row)
    out["_row"] = int(float(out["_row"]))
    out["_file"] = str(out["_file"])
    return out


def _with_values(frame: pd.DataFrame, rows: list[dict]) -> list[dict]:
    """The full record of each failing row, so messages can quote any of its values."""
    keyed = frame.set_index(INDEX, drop=False)
    return [
        keyed.loc[(r["_file"], r["_row"])].to_dict()
        if (r["_file"], r["_row"]) in keyed.index
        else r
        for r in rows
    ]


def _finding(book: ReadBook, sheet: Sheet, check: Check, row: dict) -> F.Finding:
    data = book.sheets[sheet.id]
    value = row.get(check.field)
    shown = {k: F.show(v) for k, v in row.items()}
    label = sheet.field(check.field).label("en")
    message = check.message.format(label=label, value=F.show(value), **shown)
    cell = data.cell(check.field, row["_row"] or None)
    return F.Finding("error", data.name, cell, F.show(value), check.rule, message)
