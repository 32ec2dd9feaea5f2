"""A finding: one problem in a submission, with where it is, what was found and how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """An error rejects the file; a warning lets it in, flagged for review."""

    severity: Severity
    sheet: str  # the sheet's name as it is in the partner's workbook ("" for the whole file)
    cell: str  # "B7", a column "F" or "" for the whole sheet or file
    value: str  # what was found, as text
    rule: str  # a short id: required, type, allowed, min, sum, not_above, unique, stamp, ...
    message: str  # what is wrong and how to fix it

    def as_dict(self) -> dict:
        return asdict(self)

    def where(self) -> str:
        return "!".join(part for part in (self.sheet, self.cell) if part) or "file"


def error(rule: str, message: str, sheet: str = "", cell: str = "", value: object = "") -> Finding:
    return Finding("error", sheet, cell, show(value), rule, message)


def show(value: object) -> str:
    """A value as the partner would recognise it, kept short."""
    if value is None or value != value:  # None, NaN and NaT: a blank cell
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
