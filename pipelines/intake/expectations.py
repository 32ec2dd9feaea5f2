"""The great-expectations runner: checks (an expectation and the finding it gives) run over a
frame whose rows carry `_file` and `_row`, so each failing cell can be found again.

Great-expectations is imported lazily (it takes seconds) and run under a lock, because it is not
thread-safe, in one ephemeral context per process.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field

import pandas as pd

from pipelines.intake import findings as F

_LOCK = threading.Lock()
INDEX = ["_file", "_row"]
PAIR = {"ignore_row_if": "either_value_is_missing"}


@dataclass(frozen=True)
class Check:
    """An expectation, and the finding its failing rows give."""

    expectation: object
    rule: str  # an entry of messages.yaml
    field: str | None  # the field whose cell is marked; None for the whole workbook
    row_params: dict[str, str] = field(default_factory=dict)  # message param -> column of the row
    params: dict[str, str] = field(default_factory=dict)
    severity: F.Severity = "error"


def run(frame: pd.DataFrame, checks: list[Check]) -> list[tuple[Check, list[dict]]]:
    """Run the checks over the frame; return each failed check with its failing rows.

    A first run only says pass or fail (about half the cost); the checks that failed run again
    to name their rows. Most workbooks pass, so most pay only the first run.
    """
    failed = [c for c, outcome in zip(checks, _validate(frame, checks, "BOOLEAN_ONLY"), strict=True)
              if not outcome.success]
    if not failed:
        return []
    keyed = frame.set_index(INDEX, drop=False)
    found = []
    for check, outcome in zip(failed, _validate(frame, failed, "COMPLETE"), strict=True):
        # great-expectations returns index values as numpy scalars or strings: make them plain
        keys = [(str(r["_file"]), int(float(r["_row"])))
                for r in outcome.result.get("unexpected_index_list") or []]
        found.append((check, [keyed.loc[k].to_dict() for k in dict.fromkeys(keys)]))
    return found


def _validate(frame: pd.DataFrame, checks: list[Check], result_format: str) -> list:
    """One great-expectations run of the checks; the outcomes in the order of `checks`."""
    import great_expectations as gx

    with _LOCK:
        batch = _whole_dataframe().get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name="sheet")
        for number, check in enumerate(checks):
            expectation = check.expectation.copy()
            expectation.meta = {"check": number}
            suite.add_expectation(expectation)
        result = batch.validate(suite, result_format={
            "result_format": result_format, "unexpected_index_column_names": INDEX})
    ordered = sorted(result.results, key=lambda outcome: outcome.expectation_config.meta["check"])
    return ordered


@functools.cache
def _whole_dataframe():
    """A batch definition taking a whole DataFrame, in an ephemeral context made once per process
    (making one costs about as much as a run); used under _LOCK only."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    asset = context.data_sources.add_pandas("workbooks").add_dataframe_asset("sheet")
    return asset.add_batch_definition_whole_dataframe("all")
