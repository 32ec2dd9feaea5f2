"""The dashboard in its reader's language: its texts, numbers and dates.

Texts are written in English in the code, wrapped in `_()` (with named placeholders:
`_("Loaded as {key} version {version}.", key=..., version=...)`). Their translations are the
gettext catalogues dashboard/locale/<lang>/LC_MESSAGES/messages.po, which translators' tools
read and `make translations` updates from the code (pybabel extract and update, babel.cfg);
they are read with Babel when first needed, no compile step. A text without a translation shows
in English; tests/test_translations.py fails on any.

The reader's language: their account's (set by an admin, `mvh users add ... --lang bg`, or by
themselves with the header's menu), else the one chosen before logging in, else their
browser's (Accept-Language), else English. Numbers and dates are formatted by Babel for that
language (1 234 567 in French, 1.234.567 in German), language names are written in their own
script ("български", "Ελληνικά").
"""

from __future__ import annotations

import functools
from pathlib import Path

import flask
from babel import Locale
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

from pipelines.declaration import registry
from pipelines.declaration.registry import Kpi, Labels, StatusStyle

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT = "en"
BRITISH = "en_GB"  # the English of the EU's documents: 30 Oct 2022, not Oct 30, 2022


def languages() -> list[str]:
    return registry.get().languages


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """The translations of a language: English text -> its translation (none for English)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def lang() -> str:
    """The language of this request's reader."""
    if not flask.has_request_context():
        return DEFAULT
    if "lang" not in flask.g:  # once per request: every text shown asks
        flask.g.lang = _chosen()
    return flask.g.lang


def _chosen() -> str:
    from dashboard import auth  # auth's login pages use this module

    known = languages()
    user = auth.current()
    if user is not None and user.lang in known:
        return user.lang
    if flask.session.get("lang") in known:
        return flask.session["lang"]
    return flask.request.accept_languages.best_match(known) or DEFAULT


def _(text: str, **values: object) -> str:
    """A text in the reader's language, its {placeholders} filled in."""
    translated = catalogue(lang()).get(text, text)
    return translated.format(**values) if values else translated


def N_(text: str) -> str:
    """Marks a text for translation where it is declared, translated where it is shown with _()."""
    return text


def word(text: str) -> str:
    """A text marked with N_ where it is declared (a page's name, a severity), in the reader's
    language: _() for a value the extraction must not take for a text of its own."""
    return _(text)


def number(value: float | None, digits: int = 0) -> str:
    """A number as the reader's language writes it ("–" for none)."""
    if value is None or value != value:  # None or NaN
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=lang())


def separators() -> tuple[str, str]:
    """The decimal and thousands separators of the reader's language, for what formats numbers
    in the browser (charts, grids)."""
    return get_decimal_symbol(lang()), get_group_symbol(lang())


def inline(label: str) -> str:
    """A label as it reads inside a sentence or on an axis: in lower case, except in German,
    whose nouns keep their capital."""
    return label if lang() == "de" else label.lower()


def date(value) -> str:
    """A date as the reader's language writes it, e.g. 30 Oct 2022 (English as written in the
    EU), 30 oct. 2022, 30.10.2022."""
    return format_date(value, format="medium", locale=BRITISH if lang() == DEFAULT else lang())


def country(code: str) -> str:
    """A country's name in the reader's language, with its code: "България (BG)"."""
    return f"{Locale.parse(lang()).territories.get(code, code)} ({code})"


def name(code: str) -> str:
    """A language's name in its own script, e.g. "български" for bg."""
    return Locale.parse(code).get_display_name(code)


def kpi(indicator: Kpi, part: str = "label") -> str:
    """A KPI's label, unit, description or counting rule as indicators.yaml gives it in the
    reader's language (its `translations`), else in English."""
    return indicator.said(part, lang())


def status(style: StatusStyle) -> str:
    """A status's label (Achieved, On track...) in the reader's language."""
    return style.said(lang())


def declared(labels: Labels) -> str:
    """A text declared in indicators.yaml in several languages, in the reader's."""
    return registry.said(labels, lang())
