"""A finding: one problem in a submission, with where it is, what was found and how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

from pipelines.intake import messages

if TYPE_CHECKING:
    from pipelines.declaration.registry import Registry

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """An error rejects the file; a warning lets it in, flagged for review.

    `message` and `fix` are in English; `messages.localise` renders them in any language from
    the rule, the field and the params, which are kept for that.
    """

    severity: Severity
    sheet: str  # the sheet's name as it is in the partner's workbook ("" for the whole file)
    cell: str  # "B7", or "" for the whole sheet or file
    value: str  # what was found, as text
    rule: str  # an entry of messages.yaml: required, allowed, sum, stamp_country, ...
    message: str
    fix: str
    sheet_id: str = ""
    field: str = ""
    params: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict:
        data = asdict(self)
        data["params"] = dict(self.params)
        return data

    def where(self) -> str:
        return "!".join(part for part in (self.sheet, self.cell) if part) or "file"


def make(severity: Severity, rule: str, registry: Registry | None = None, *, sheet: str = "",
         cell: str = "", value: object = "", sheet_id: str = "", field: str = "",
         **params: object) -> Finding:
    shown = show(value)
    kept = tuple((k, show(v)) for k, v in params.items())
    message, fix = messages.render(rule, "en", registry, sheet_id=sheet_id, field=field,
                                   value=shown, cell=cell, params=dict(kept))
    return Finding(severity, sheet, cell, shown, rule, message, fix, sheet_id, field, kept)


def error(rule: str, registry: Registry | None = None, **where: object) -> Finding:
    return make("error", rule, registry, **where)


def warning(rule: str, registry: Registry | None = None, **where: object) -> Finding:
    return make("warning", rule, registry, **where)


def show(value: object) -> str:
    """A value as the partner would recognise it, kept short."""
    if value is None or type(value).__name__ in ("NAType", "NaTType") or value != value:
        return ""  # None, NA, NaT and NaN: a blank cell
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
