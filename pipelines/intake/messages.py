"""Finding messages from the catalogue messages.yaml, in any of the project's languages, and
how each language writes a date (its `date_formats`), shown alike in messages and the template."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from pipelines.declaration.registry import Registry
    from pipelines.intake.findings import Finding

CATALOGUE = Path(__file__).with_name("messages.yaml")
DATE_FORMATS = "date_formats"  # the catalogue's one entry that is no rule
EXAMPLE_DAY = dt.date(2022, 3, 31)  # past the 12th: it cannot be read month first


@cache
def _document() -> dict:
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader  # libyaml: 10x faster
    return yaml.load(CATALOGUE.read_text(encoding="utf-8"), Loader=loader)


@cache
def catalogue() -> dict[str, dict[str, dict[str, str]]]:
    """Each rule's message and fix, by language."""
    return {rule: entry for rule, entry in _document().items() if rule != DATE_FORMATS}


@cache
def dates(lang: str) -> dict[str, str]:
    """The placeholders {date_format} and {date_example} in a language (English's for one that
    declares no date format): its form in its own letters ("éééé.hh.nn.", "TT.MM.JJJJ") and
    EXAMPLE_DAY written in it ("2022.03.31.")."""
    forms = _document()[DATE_FORMATS]
    form = forms.get(lang) or forms["en"]
    day, month, year = form["letters"]
    shown = form["order"].replace("%d", day * 2).replace("%m", month * 2).replace("%Y", year * 4)
    return {"date_format": shown, "date_example": EXAMPLE_DAY.strftime(form["order"])}


def cell_format(lang: str) -> str:
    """The number format of a date cell in a language's template, its form in Excel's letters
    ("YYYY.MM.DD." in Hungarian, "DD.MM.YYYY" in German): what the help and fixes say."""
    forms = _document()[DATE_FORMATS]
    order = (forms.get(lang) or forms["en"])["order"]
    return order.replace("%d", "DD").replace("%m", "MM").replace("%Y", "YYYY")


def with_dates(text: str, lang: str) -> str:
    """A text (a field's help) with {date_format} and {date_example} written for a language."""
    for key, shown in dates(lang).items():
        text = text.replace("{" + key + "}", shown)
    return text


class _Keep(dict):
    """Leave a placeholder as it is when the finding has no value for it."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(rule: str, lang: str, registry: Registry | None = None, *, sheet_id: str = "",
           field: str = "", value: str = "", cell: str = "",
           params: dict[str, str] | None = None) -> tuple[str, str]:
    """(message, fix) of a rule in a language, labels taken from indicators.yaml in it."""
    entry = catalogue()[rule]
    values = _Keep(dates(lang), value=value, cell=cell, **(params or {}))
    if registry is not None and sheet_id:
        sheet = registry.sheet(sheet_id)
        values["sheet_label"] = sheet.label(lang)
        label = {f.id: f.label(lang) for f in sheet.fields}
        values["label"] = label.get(field, field)
        for key in ("limit", "explain"):
            if key in values:
                values[f"{key}_label"] = label.get(values[key], values[key])
        if "parts" in values:
            values["parts_labels"] = ", ".join(f"'{label.get(p, p)}'" for p in values["parts"].split(","))
    if registry is not None:
        _in_language(values, registry, lang)
    return tuple((texts.get(lang) or texts["en"]).format_map(values)
                 for texts in (entry["message"], entry["fix"]))


def _in_language(values: dict, registry: Registry, lang: str) -> None:
    """Parameters the checks keep in English, named in the reader's language: a breakdown (by sex),
    the sheet a reference points to and, outside English, the kind of entry it names."""
    breakdown = next((r for r in registry.sums if r.label == values.get("breakdown")), None)
    if breakdown is not None:
        values["breakdown"] = breakdown.name(lang)
    entity = registry.entities.get(values.get("target", ""))
    if entity is not None:
        sheet = registry.sheet(entity.sheet)
        values["target_sheet"] = sheet.label(lang)
        if lang != "en":
            values["target"] = sheet.field(entity.key).label(lang)


def localise(finding: Finding, lang: str, registry: Registry | None) -> tuple[str, str]:
    """A finding's (message, fix) in the partner's language."""
    return render(finding.rule, lang, registry, sheet_id=finding.sheet_id, field=finding.field,
                  value=finding.value, cell=finding.cell, params=dict(finding.params))
