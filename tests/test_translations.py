"""The dashboard's translations: every text the code marks with _() or N_() has a translation in
each of the seven languages (dashboard/locale/<lang>/LC_MESSAGES/messages.po), with the same
{placeholders}, not left in English; the catalogue template (messages.pot) is up to date with the
code; and the app shows them: the login page, a partner's navigation after choosing a language,
numbers written as the reader's language writes them."""

from __future__ import annotations

import html
import json
import re
import string
from pathlib import Path

import dash
import flask
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from dashboard import i18n
from pipelines.access import accounts
from pipelines.declaration import registry
from tests.dash_client import login, text, using

ROOT = Path(__file__).resolve().parents[1]
CODE = ROOT / "dashboard"
LOCALE = CODE / "locale"
TEMPLATE = LOCALE / "messages.pot"
LANGUAGES = ("de", "bg", "fr", "el", "hu", "it", "ro")
NON_LATIN = ("bg", "el")

# translations that are rightly the same as the English text: the word is the language's own
SAME_AS_ENGLISH = {
    ("de", "Version"), ("fr", "Version"),
    ("it", "Password"), ("it", "partner"),
}
# English words that give away a text left untranslated in a language written in Latin letters
TELLTALE = ("the", "and", "workbook", "workbooks", "upload", "uploaded", "warning", "warnings", "error",
            "errors", "file", "files", "please", "your", "you", "loaded", "submit", "quarter", "country",
            "template", "sheet", "cell", "cells")
TELLTALE_OWN = {"it": {"file"}}  # "il file" is Italian
# the only runs of 4+ Latin letters a Bulgarian or Greek text may hold (in any case): names,
# formats, commands
LATIN_NAMES = {"excel", "libreoffice", "xlsx", "ods", "mb", "csv", "pdf", "ingest", "make", "mvh", "kpi"}
LATIN_RUN = re.compile(r"[A-Za-z]{4,}")
MIXED_WORD = re.compile(r"\w*[A-Za-z][^\W\d_A-Za-z]\w*|\w*[^\W\d_A-Za-z][A-Za-z]\w*")


def code_texts() -> set[str]:
    """Every text the dashboard's code marks for translation, as `make translations` finds them
    (babel.cfg: _() and N_() in its Python files)."""
    found = extract_from_dir(str(CODE), method_map=[("**.py", "python")],
                             keywords={"_": None, "N_": None})
    return {message for _file, _line, message, _comments, _context in found if message}


def read_catalogue(path: Path, lang: str | None = None):
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def translations(lang: str) -> dict[str, tuple[str, bool]]:
    """English text -> (its translation, whether it is marked fuzzy), from the language's .po."""
    catalogue = read_catalogue(LOCALE / lang / "LC_MESSAGES" / "messages.po", lang)
    return {m.id: (m.string, m.fuzzy) for m in catalogue if m.id and isinstance(m.id, str)}


def placeholders(text: str) -> list[str]:
    return sorted(name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None)


def without_placeholders(text: str) -> str:
    return re.sub(r"\{\w*\}", " ", text)


@pytest.fixture(scope="module")
def texts() -> set[str]:
    found = code_texts()
    assert len(found) > 50, "no texts found in dashboard/ (the extraction itself is broken)"
    return found


def test_the_catalogue_template_is_up_to_date_with_the_code(texts):
    template = {m.id for m in read_catalogue(TEMPLATE) if m.id}
    new, gone = sorted(texts - template), sorted(template - texts)
    assert not new and not gone, (
        "dashboard/locale/messages.pot is not up to date with the code: run `make translations`, "
        f"then translate the new texts.\nIn the code, not in the .pot: {new}\n"
        f"In the .pot, not in the code: {gone}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_has_a_translation(lang, texts):
    translated = translations(lang)
    missing = sorted(t for t in texts if not translated.get(t, ("", False))[0].strip())
    fuzzy = sorted(t for t in texts if translated.get(t, ("", False))[1])
    assert not missing, f"{lang}: {len(missing)} text(s) without a translation (run `make translations`, " \
                        f"then fill in their msgstr): {missing}"
    assert not fuzzy, f"{lang}: translations marked fuzzy (check them, then remove the flag): {fuzzy}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang):
    broken = []
    for english, (translated, _fuzzy) in translations(lang).items():
        if not translated:
            continue
        try:
            same = placeholders(translated) == placeholders(english)
            translated.format(**{name: "x" for name in placeholders(english)})
        except (ValueError, KeyError, IndexError) as error:
            same = False
            english = f"{english} ({error})"
        if not same:
            broken.append(f"{english!r} -> {translated!r}")
    assert not broken, f"{lang}: placeholders differ from the English text's:\n" + "\n".join(broken)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_are_not_left_in_english(lang):
    same = sorted(english for english, (translated, _f) in translations(lang).items()
                  if translated == english and (lang, english) not in SAME_AS_ENGLISH)
    assert not same, f"{lang}: translations equal to their English text (translate them, or add them " \
                     f"to SAME_AS_ENGLISH if the word is the language's own): {same}"
    if lang in NON_LATIN:
        return
    words = [w for w in TELLTALE if w not in TELLTALE_OWN.get(lang, set())]
    telltale = re.compile(r"\b(" + "|".join(words) + r")\b", re.IGNORECASE)
    english_words = [f"{translated!r}: {found.group(0)!r}" for translated, _f in translations(lang).values()
                     if (found := telltale.search(without_placeholders(translated)))]
    assert not english_words, f"{lang}: English words in translations:\n" + "\n".join(english_words)


@pytest.mark.parametrize("lang", NON_LATIN)
def test_non_latin_translations_hold_no_latin_words(lang):
    found = []
    for english, (translated, _f) in translations(lang).items():
        bare = without_placeholders(translated)
        latin = [w for w in LATIN_RUN.findall(bare) if w.casefold() not in LATIN_NAMES]
        mixed = MIXED_WORD.findall(bare)  # a Latin letter inside a word of the language's script
        if latin or mixed:
            found.append(f"{english!r} -> {translated!r}: {latin + mixed}")
    assert not found, f"{lang}: Latin letters in translations (allowed: {sorted(LATIN_NAMES)}):\n" \
                      + "\n".join(found)


@pytest.fixture
def on_demo(demo_db, monkeypatch):
    monkeypatch.setenv("MVH_DB", str(demo_db))
    return demo_db


def _bg(english: str) -> str:
    return i18n.catalogue("bg")[english]


def test_the_login_page_is_in_the_language_chosen(app, on_demo):
    page = app.server.test_client().get("/login?lang=bg").get_data(as_text=True)
    assert '<html lang="bg">' in page
    for english in ("Log in", "User name", "Password", "Language", "Show",
                    "No account yet, or a forgotten password? Ask the project's coordination."):
        assert html.escape(_bg(english)) in page, english
        assert f">{html.escape(english)}<" not in page, english
    project = registry.get().project.name
    assert html.escape(_bg("{project} impact monitor").format(project=project)) in page


def _partner_pages() -> list[str]:
    names = [p["name"] for p in dash.page_registry.values() if p.get("access") == "partner"]
    assert "Upload" in names and "Data quality" in names, names
    return names


def _shows(layout: str, shown: str) -> bool:
    return json.dumps(shown, ensure_ascii=False) in layout


def test_a_partner_chooses_the_language_before_logging_in(app, on_demo):
    client = app.server.test_client()
    assert client.get("/login?lang=el").status_code == 200
    assert login(client, "partner-ro").status_code == 302
    layout = text(client.get("/_dash-layout"))
    greek = i18n.catalogue("el")
    assert '"lang": "el"' in layout
    for name in [*_partner_pages(), "Log out", "Skip to content"]:
        assert _shows(layout, greek[name]) and not _shows(layout, name), name


def test_a_partner_chooses_the_language_in_the_header_and_keeps_it(app, db):
    client = app.server.test_client()
    assert login(client, "partner-bg").status_code == 302
    assert client.post("/language", data={"lang": "hu"}).status_code == 302
    with using(db):
        assert accounts.get("partner-bg").lang == "hu"
    hungarian = i18n.catalogue("hu")
    for later in (client, app.server.test_client()):  # this session, and a new login: the account's
        if later is not client:
            assert login(later, "partner-bg").status_code == 302
        layout = text(later.get("/_dash-layout"))
        assert '"lang": "hu"' in layout
        for name in [*_partner_pages(), "Log out"]:
            assert _shows(layout, hungarian[name]) and not _shows(layout, name), name


def _spaces(value: str) -> str:
    return value.replace("\u202f", " ").replace("\xa0", " ")


@pytest.mark.parametrize(("lang", "written"), [
    ("en", "1,234,567"), ("de", "1.234.567"), ("fr", "1 234 567"), ("bg", "1 234 567"),
    ("el", "1.234.567"), ("hu", "1 234 567"), ("it", "1.234.567"), ("ro", "1.234.567")])
def test_numbers_are_written_as_the_reader_s_language_writes_them(app, lang, written):
    with app.server.test_request_context("/", headers={"Accept-Language": lang}):
        assert i18n.lang() == lang
        assert _spaces(i18n.number(1234567)) == written
        assert i18n.number(None) == "–"
    with app.server.test_request_context("/"):
        flask.session["lang"] = lang
        assert _spaces(i18n.number(1234567)) == written
