"""The message catalogue: every rule in every language, with the same placeholders."""

from __future__ import annotations

import re

import pytest

from pipelines.intake import messages

CATALOGUE = messages.catalogue()


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


@pytest.mark.parametrize("rule", list(CATALOGUE))
def test_every_message_is_in_every_language(reg, rule):
    for part in ("message", "fix"):
        texts = CATALOGUE[rule][part]
        assert set(texts) == set(reg.languages), f"{rule}.{part} lacks {set(reg.languages) - set(texts)}"
        for lang, text in texts.items():
            assert placeholders(text) == placeholders(texts["en"]), f"{rule}.{part}.{lang}"


def test_rules_used_in_the_code_are_in_the_catalogue(reg):
    from pipelines.declaration.registry import ROOT
    from pipelines.intake import validate

    code = "".join(p.read_text() for p in (ROOT / "pipelines").rglob("*.py"))
    used = set(re.findall(r'F\.(?:error|warning)\("(\w+)"', code))
    used |= set(re.findall(r'Unreadable\("(\w+)"\)', code))
    used |= {c.rule for s in reg.template.sheets for c in validate._checks(s, reg)}
    assert len(used) > 30
    assert used <= set(CATALOGUE)


def test_a_finding_renders_in_the_partners_language(reg):
    from pipelines.intake import findings as F

    finding = F.error(
        "sum",
        reg,
        sheet="Дейности",
        cell="G3",
        value=22,
        sheet_id="activities",
        field="participants_total",
        parts="female,male,sex_other_unknown",
        sum=23,
        breakdown="sex",
    )
    assert finding.message == (
        "The parts ('Female', 'Male', 'Other or unknown sex') add up to 23, but 'Participants' is 22."
    )
    message, fix = messages.localise(finding, "de", reg)
    assert "'Weiblich'" in message and "23" in message and "22" in message
    message, _ = messages.localise(finding, "bg", reg)
    assert "'Участници'" in message
