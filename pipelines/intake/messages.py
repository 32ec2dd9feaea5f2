"""Finding messages from the catalogue messages.yaml, in any of the project's languages."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from pipelines.declaration.registry import Registry
    from pipelines.intake.findings import Finding

CATALOGUE = Path(__file__).with_name("messages.yaml")


@cache
def catalogue() -> dict[str, dict[str, dict[str, str]]]:
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader  # libyaml: 10x faster
    return yaml.load(CATALOGUE.read_text(encoding="utf-8"), Loader=loader)


class _Keep(dict):
    """Leave a placeholder as it is when the finding has no value for it."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(rule: str, lang: str, registry: Registry | None = None, *, sheet_id: str = "",
           field: str = "", value: str = "", cell: str = "",
           params: dict[str, str] | None = None) -> tuple[str, str]:
    """(message, fix) of a rule in a language, labels taken from indicators.yaml in it."""
    entry = catalogue()[rule]
    values = _Keep(value=value, cell=cell, **(params or {}))
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
    return tuple((texts.get(lang) or texts["en"]).format_map(values)
                 for texts in (entry["message"], entry["fix"]))


def localise(finding: Finding, lang: str, registry: Registry | None) -> tuple[str, str]:
    """A finding's (message, fix) in the partner's language."""
    return render(finding.rule, lang, registry, sheet_id=finding.sheet_id, field=finding.field,
                  value=finding.value, cell=finding.cell, params=dict(finding.params))
