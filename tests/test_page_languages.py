"""Every page speaks its reader's language: rendered for a Bulgarian administrator (who opens every
page) and a Bulgarian partner, no visible text of any page (headings, paragraphs, buttons, pickers'
options, table
columns, chart titles and axes, tooltips) is left in English. A text not wrapped in _() shows
in English whatever the language, so this finds it; tests/test_translations.py checks the
translations themselves in each language.

What may stay in Latin letters: codes (BG, 2023-Q4, KPI ids), file and product names, the
names the project and its partners gave themselves, language names in their own script, and
legal references (html.Cite)."""

from __future__ import annotations

import re

import dash
import pytest

from dashboard import i18n
from pipelines.access import accounts
from pipelines.declaration import registry
from tests.dash_client import PASSWORD, login, render, using

# shown in Latin letters whatever the language: codes, file names, formats, product names
CODE = re.compile(r"^[A-Z0-9_]{2,}(?:[-–][A-Z0-9_]+)*$|^\d{4}-Q\d$|"
                  r"^[\w.-]*\.(?:xlsx|ods|csv|zip|duckdb|yaml)$|"
                  r"^[a-z0-9]+(?:_[a-z0-9]+)+$")
NAMES = {"Excel", "LibreOffice", "XLSX", "CSV", "PNG", "PDF", "AMIF", "KPI", "MB", "Okabe-Ito", "SHA-256"}
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
# props whose text a reader sees (or hears, with a screen reader)
SHOWN = ("children", "label", "placeholder", "title", "aria-label", "headerName", "headerTooltip")


def _texts(tree, found: list[str]) -> list[str]:
    """Every text a rendered tree shows: its components' texts, their options' labels, table
    columns, chart titles, axes, legends and notes; not the rows of tables (what partners typed)."""
    if isinstance(tree, str):
        found.append(tree)
    elif isinstance(tree, list):
        for item in tree:
            _texts(item, found)
    elif isinstance(tree, dict):
        if tree.get("type") == "Cite":  # a legal reference (Reg. (EU) 2021/1147, Annex VIII) as enacted
            return found
        if "props" in tree:
            _component(tree["props"], found)
        else:
            for name in SHOWN:
                _texts(tree.get(name), found)
    return found


def _component(props: dict, found: list[str]) -> None:
    for name in SHOWN:
        if isinstance(props.get(name), (str, list, dict)):
            _texts(props[name], found)
    for option in props.get("options") or []:
        _texts(option.get("label") if isinstance(option, dict) else option, found)
    for column in props.get("columnDefs") or []:
        _texts(column, found)
    _texts(list(((props.get("dashGridOptions") or {}).get("localeText") or {}).values()), found)
    figure = props.get("figure") or {}
    layout = figure.get("layout") or {}
    for axis in [key for key in layout if key.startswith(("xaxis", "yaxis"))]:
        _texts(((layout[axis] or {}).get("title") or {}).get("text"), found)
    _texts((layout.get("title") or {}).get("text"), found)
    _texts([note.get("text") for note in layout.get("annotations") or []], found)
    _texts([trace.get("name") for trace in figure.get("data") or [] if trace.get("showlegend", True)], found)


def _names(reg) -> set[str]:
    """The names the project and its partners gave themselves, shown as they wrote them."""
    return {reg.project.name, reg.project.acronym, *(p for c in reg.countries for p in c.partners),
            *(c.place for c in reg.countries), *(i18n.name(code) for code in reg.languages)}


def english(texts: list[str], reg) -> list[str]:
    """The texts left in English: Latin words that are not codes, names or formats."""
    names = sorted(_names(reg), key=len, reverse=True)
    left = []
    for shown in texts:
        bare = re.sub(r"<[^>]+>", " ", shown)  # a chart's text may hold <br> and <b>
        bare = re.sub(r'"[a-z_]+"', " ", bare)  # a code quoted, as a counting rule names it
        for name in names:
            bare = bare.replace(name, " ")
        words = [w for w in re.split(r"[\s(),;:·/«»“”\"'|]+", bare) if w]
        latin = [w for w in words if LATIN_WORD.search(w) and not CODE.match(w) and w not in NAMES
                 and not re.search(r"[^\W\d_A-Za-z]", w)]
        if latin:
            left.append(shown)
    return sorted(set(left))


def _pages(access: str | None) -> list[str]:
    return [p["path"] for p in dash.page_registry.values()
            if access is None or p.get("access") == access]


@pytest.fixture(scope="module")
def readers(demo_db):
    with using(demo_db):
        reg = registry.get()
        for name, role, country in (("bg-admin", "admin", None), ("bg-partner", "partner", "BG")):
            if accounts.get(name) is None:
                accounts.add(name, role, PASSWORD, country, reg, lang="bg")
    return demo_db


@pytest.mark.parametrize("reader", ["bg-admin", "bg-partner"])
def test_no_page_shows_english_to_a_bulgarian_reader(app, readers, monkeypatch, reader):
    monkeypatch.setenv("MVH_DB", str(readers))
    client = app.server.test_client()
    assert login(client, reader).status_code == 302
    reg = registry.get()
    paths = _pages("partner" if reader.endswith("partner") else None)
    assert len(paths) >= (6 if reader.endswith("partner") else 12), paths
    left = {}
    for path in paths:
        response = render(client, path, "?country=BG" if path == "/countries" else "")
        assert response.status_code == 200, path
        texts = _texts([list(output.values()) for output in response.get_json()["response"].values()], [])
        assert len(texts) >= 3, (path, texts)
        if found := english(texts, reg):
            left[path] = found
    assert not left, "texts left in English (wrap them in _() and translate them):\n" + "\n".join(
        f"{path}: {found}" for path, found in left.items())
