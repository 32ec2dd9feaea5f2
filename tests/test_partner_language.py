"""A partner works in their own language, from the login to the fix: in headless Chromium, the
login page, the navigation, the Upload page with a bad workbook's findings and the Data quality
page are in Bulgarian, Greek or German; numbers are written as the language writes them."""

from __future__ import annotations

import re

import pytest

from pipelines.access import accounts
from tests.dash_client import PASSWORD, using
from tests.test_dashboard_upload import drop
from tests.workbooks import edited

pytestmark = pytest.mark.browser

SCRIPTS = {"bg": r"[\u0400-\u04FF]", "el": r"[\u0370-\u03FF\u1F00-\u1FFF]"}
# what may stay in Latin letters on a Bulgarian or Greek page: codes, file and product names
LATIN_ALLOWED = re.compile(r"\b(?:[A-Z]{2}(?:-[A-Z0-9]+)*|\d{4}-Q\d|[\w.-]+\.(?:xlsx|ods)|Excel|LibreOffice|"
                           r"MB|xlsx|ods|CSV|XLSX|PDF|Migrant Voices Heard|MVH|AMIF|KPI|reader-\w+|"
                           r"English|Deutsch|français|magyar|italiano|română)\b")  # the language menu
GERMAN_NOT = ("Upload a quarterly workbook", "Drop your workbook here", "Log out", "Data quality",
              "warning(s)", "error(s)", "would be refused", "What is wrong", "How to fix it")


def readers(db) -> None:
    """A Romanian partner account reading in each language tested."""
    from pipelines.declaration import registry

    with using(db):
        for lang in ("bg", "el", "de"):
            if accounts.get(f"reader-{lang}") is None:
                accounts.add(f"reader-{lang}", "partner", PASSWORD, "RO", registry.get(), lang=lang)


def share_in_script(text: str, lang: str) -> float:
    """The share of the letters of a page's text in its language's script, names and codes aside."""
    letters = re.findall(r"[^\W\d_]", LATIN_ALLOWED.sub(" ", text))
    own = [c for c in letters if re.match(SCRIPTS[lang], c)]
    return len(own) / max(len(letters), 1)


@pytest.mark.parametrize("lang", ["bg", "el", "de"])
def test_a_partner_works_in_their_language(browser, dashboard_url, demo_db, demo_dir, reg, tmp_path, lang):
    readers(demo_db)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{dashboard_url}/login?lang={lang}")
    assert page.get_attribute("html", "lang") == lang
    login = page.inner_text("main")
    page.fill("#username", f"reader-{lang}")
    page.fill("#password", PASSWORD)
    page.click(".login-form button[type=submit]")
    page.wait_for_selector("#account-name")
    nav = page.inner_text("nav")

    page.goto(f"{dashboard_url}/upload")
    page.wait_for_selector("#upload-file")
    page.check("#upload-mode input[value=check]")
    bad = edited(demo_dir / "RO_2023-Q1.xlsx", tmp_path / "RO_2023-Q1.xlsx",
                 {(reg.sheet("activities").label("ro"), "H3"): 500})
    drop(page, bad)
    upload = page.inner_text("main")
    page.goto(f"{dashboard_url}/quality")
    page.wait_for_selector("#quality-summary")
    quality = page.inner_text("main")
    page.goto(f"{dashboard_url}/submissions")
    page.wait_for_selector("#submissions-matrix")
    # what partners typed (organisation, who reported, notes) left aside: the grids' rows
    page.evaluate("document.querySelectorAll('.ag-center-cols-container, .ag-pinned-left-cols-container')"
                  ".forEach(rows => rows.remove())")
    submissions = page.inner_text("main")
    page.close()

    pages = {"login": login, "navigation": nav, "upload": upload, "quality": quality,
             "submissions": submissions}
    if lang in SCRIPTS:
        for name, text in pages.items():
            assert share_in_script(text, lang) >= 0.9, (name, share_in_script(text, lang), text[:400])
    else:
        for name, text in pages.items():
            assert not [w for w in GERMAN_NOT if w in text], (name, text[:400])
    if lang == "de":
        assert "1 Fehler" in upload
