"""indicators.yaml in the partners' languages: each KPI's four texts, each status's label, the
fund's name and each AMIF indicator's wording in every language of `languages`, faithful to the
English (the codes it quotes kept as codes) and, in Bulgarian and Greek, in their own script.
Another project's declaration may leave them out: its readers then see the English."""

from __future__ import annotations

import re

import pytest
import yaml

from pipelines.declaration import registry
from pipelines.declaration.registry import ROOT, RegistryError

PARTS = ("label", "unit", "description", "counting_rule")
# a unit that is the same word in the language as in English
SAME_WORD = {("fr", "migrants"), ("fr", "participations")}
CODE = re.compile(r'"([a-z][a-z0-9_]*)"')  # a code the English quotes, e.g. "establish"
LATIN_WORD = re.compile(r"[A-Za-z]{4,}")
OWN_SCRIPT = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff\u0400-\u04ff]")  # Greek, Cyrillic
ACRONYMS = {"AMIF"}  # the EU fund's acronym, allowed in the declaration (the texts say ФУМИ, ΤΑΜΕ)
CIVIC = ROOT / "tests" / "projects" / "civic_spaces" / "indicators.yaml"


def others(reg) -> set[str]:
    """The partners' languages: every declared language but English."""
    return set(reg.languages) - {"en"}


def texts(reg):
    """(where, language, English, translation, codes it may keep in Latin) of every declared
    text given in the partners' languages."""
    for kpi in reg.kpis:
        codes = set(CODE.findall(kpi.counting_rule))
        for lang, words in kpi.translations.items():
            for part in PARTS:
                yield f"kpis.{kpi.id}.{part}", lang, getattr(kpi, part), getattr(words, part), codes
        for framework, refs in kpi.amif.items():
            for ref in refs:
                for lang, wording in ref.wordings.items():
                    yield f"kpis.{kpi.id}.amif.{framework}.{ref.ref}", lang, ref.wording, wording, set()
    for name, style in reg.status_rule.statuses.items():
        for lang, label in style.labels.items():
            yield f"status_rule.statuses.{name}", lang, style.label, label, set()
    for lang, name in reg.project.fund_labels.items():
        yield "project.fund_labels", lang, reg.project.fund, name, set()


def test_every_kpi_has_its_four_texts_in_every_language(reg):
    for kpi in reg.kpis:
        assert set(kpi.translations) == others(reg), kpi.id
        for lang, words in kpi.translations.items():
            for part in PARTS:
                assert getattr(words, part), f"kpis.{kpi.id}.translations.{lang}.{part}"
                assert kpi.said(part, lang) == getattr(words, part)
        assert all(kpi.said(part, "en") == getattr(kpi, part) for part in PARTS)


def test_every_status_the_fund_and_every_amif_indicator_are_named_in_every_language(reg):
    for name, style in reg.status_rule.statuses.items():
        assert set(style.labels) == others(reg), name
        assert style.said("en") == style.label and style.said("bg") == style.labels["bg"]
    assert set(reg.project.fund_labels) == others(reg)
    for kpi in reg.kpis:
        for refs in kpi.amif.values():
            for ref in refs:
                assert set(ref.wordings) == others(reg), (kpi.id, ref.ref)
                assert ref.said("en") == ref.wording and ref.said("el") == ref.wordings["el"]


def test_translations_differ_from_the_english(reg):
    same = [(where, lang, text) for where, lang, english, text, _ in texts(reg)
            if text == english and (lang, text) not in SAME_WORD]
    assert not same


def test_translations_keep_the_codes_the_english_quotes(reg):
    quoted = {code for kpi in reg.kpis for code in CODE.findall(kpi.counting_rule)}
    assert {"establish", "strengthen"} <= quoted  # the test is not empty
    for kpi in reg.kpis:
        for code in CODE.findall(kpi.counting_rule):
            for lang, words in kpi.translations.items():
                assert f'"{code}"' in words.counting_rule, (kpi.id, lang, code)


@pytest.mark.parametrize("lang", ["bg", "el"])
def test_bulgarian_and_greek_are_in_their_own_script(reg, lang):
    latin, mixed = [], []
    for where, said_in, _, text, codes in texts(reg):
        if said_in != lang:
            continue
        latin += [(where, w) for w in LATIN_WORD.findall(text) if w not in codes | ACRONYMS]
        mixed += [(where, w) for w in re.findall(r"\w+", text)
                  if re.search("[A-Za-z]", w) and OWN_SCRIPT.search(w)]
    assert not latin, latin
    assert not mixed, mixed  # a Latin letter typed inside a Cyrillic or Greek word


def civic(tmp_path, change=lambda d: None) -> registry.Registry:
    """The test project Civic Spaces for Youth (English only), changed, loaded from tmp_path."""
    data = yaml.safe_load(CIVIC.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return registry.load(path)


def test_a_declaration_may_leave_them_out_and_english_shows(tmp_path):
    reg = civic(tmp_path)
    assert reg.languages == ["en"]
    kpi, style = reg.kpis[0], reg.status_rule.statuses["on_track"]
    assert all(kpi.said(part, "bg") == getattr(kpi, part) for part in PARTS)
    assert style.said("bg") == style.label == "On course"

    def french_in_part(d):
        d["languages"] = ["en", "fr"]
        d["kpis"][0]["translations"] = {"fr": {"label": "Espaces jeunesse ouverts"}}
    reg = civic(tmp_path, french_in_part)
    kpi, style = reg.kpis[0], reg.status_rule.statuses["on_track"]
    assert kpi.said("label", "fr") == "Espaces jeunesse ouverts"
    assert kpi.said("counting_rule", "fr") == kpi.counting_rule  # not translated: English
    assert style.said("fr") == "On course"
    assert registry.said({"en": reg.project.fund, **reg.project.fund_labels}, "fr") == reg.project.fund
    ref = next(ref for k in reg.kpis for refs in k.amif.values() for ref in refs)
    assert ref.said("fr") == ref.wording == "Participants below 30 years of age"


def with_portuguese(where: str):
    """A change to the MVH declaration giving one text in Portuguese, not a declared language."""
    def change(d):
        kpi = d["kpis"][0]
        if where == "translations":
            kpi["translations"] = {**kpi["translations"], "pt": {"label": "Conselhos criados"}}
        elif where == "labels":
            style = d["status_rule"]["statuses"]["at_risk"]
            style["labels"] = {**style["labels"], "pt": "Em risco"}
        elif where == "wordings":
            ref = kpi["amif"]["2021-2027"][0]
            ref["wordings"] = {**ref["wordings"], "pt": "Número de autoridades locais e regionais"}
        else:
            d["project"]["fund_labels"] = {**d["project"]["fund_labels"], "pt": "FAMI 2014-2020"}
    return change


@pytest.mark.parametrize("where, key", [
    ("translations", "kpis.councils_established.translations"),
    ("labels", "status_rule.statuses.at_risk.labels"),
    ("wordings", "kpis.councils_established.amif.2021-2027.0.wordings"),
    ("fund_labels", "project.fund_labels"),
])
def test_a_text_in_an_undeclared_language_is_named(tmp_path, where, key):
    data = yaml.safe_load((ROOT / "indicators.yaml").read_text(encoding="utf-8"))
    with_portuguese(where)(data)
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        registry.load(path)
    assert f"{key}: ['pt'] not in languages" in str(info.value)
    assert str(info.value).count("not in languages") == 1  # only the text changed


def test_an_english_only_declaration_with_a_translation_fails(tmp_path):
    def change(d):
        d["kpis"][1]["translations"] = {"de": {"label": "Aktive Jugendnetzwerke"}}
    with pytest.raises(RegistryError) as info:
        civic(tmp_path, change)
    assert "kpis.networks_active.translations: ['de'] not in languages" in str(info.value)
