"""A partner works in their own language, from the login to the fix, in each of the eight
languages, in headless Chromium: the login page, the navigation, the Upload page with a bad
workbook's findings and a good one's loading (its progress in words, its effect on the KPIs),
the Data quality page and its CSV download. Bulgarian and Greek pages are measured by the share
of their letters in the language's script; pages in Latin letters must hold no English word that
gives a text away; numbers are grouped as the language writes them (Babel)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from babel.numbers import get_group_symbol

from pipelines.access import accounts
from tests.dash_client import PASSWORD, using
from tests.test_dashboard_upload import drop
from tests.test_translations import TELLTALE, TELLTALE_OWN
from tests.workbooks import edited

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "de", "bg", "fr", "el", "hu", "it", "ro")
SCRIPTS = {"bg": r"[\u0400-\u04FF]", "el": r"[\u0370-\u03FF\u1F00-\u1FFF]"}
# what may stay in Latin letters on a Bulgarian or Greek page: codes, file and product names
LATIN_ALLOWED = re.compile(r"\b(?:[A-Z]{2}(?:-[A-Z0-9]+)*|\d{4}-Q\d|[\w.-]+\.(?:xlsx|ods|csv)|"
                           r"Excel|LibreOffice|"
                           r"MB|xlsx|ods|CSV|XLSX|PDF|Migrant Voices Heard|MVH|AMIF|KPI|reader-\w+|PATRIR|"
                           r"English|Deutsch|français|magyar|italiano|română)\b")  # the language menu
# English phrases of the pages, which no other language's page may show
ENGLISH = ("Upload a quarterly workbook", "Drop your workbook here", "Log out", "Data quality",
           "What is wrong", "How to fix it", "Effect on the KPIs", "Loaded as", "Download CSV")


@pytest.fixture(scope="module")
def partners_server(tmp_path_factory, demo_dir, reg):
    """A dashboard of its own on Romania's reports up to 2023-Q3, with a Romanian partner
    account reading in each language (reader-<lang>)."""
    from pipelines import ingest
    from tests.conftest import served

    db = tmp_path_factory.mktemp("languages") / "mvh.duckdb"
    ingest.ingest(sorted(p for p in demo_dir.glob("RO_*.xlsx") if "2023-Q4" not in p.name), reg, db)
    with using(db):
        for lang in LANGUAGES:
            accounts.add(f"reader-{lang}", "partner", PASSWORD, "RO", reg, lang=lang)
    with served(db) as url:
        yield url


def share_in_script(text: str, lang: str) -> float:
    """The share of the letters of a page's text in its language's script, names and codes aside."""
    letters = re.findall(r"[^\W\d_]", LATIN_ALLOWED.sub(" ", text))
    own = [c for c in letters if re.match(SCRIPTS[lang], c)]
    return len(own) / max(len(letters), 1)


def english_words(text: str, lang: str) -> list[str]:
    """English words that give a page in a Latin-letter language away as left untranslated."""
    words = [w for w in TELLTALE if w not in TELLTALE_OWN.get(lang, set())]
    found = re.findall(r"\b(" + "|".join(words) + r")\b", LATIN_ALLOWED.sub(" ", text), re.IGNORECASE)
    return sorted(set(found)) + [phrase for phrase in ENGLISH if phrase in text]


def watch_stages(page) -> None:
    """Note every text the upload's progress line shows, as it changes."""
    page.evaluate("""() => { window.stagesSeen = [];
        new MutationObserver(() => window.stagesSeen.push(
            document.querySelector('#upload-stage').textContent))
          .observe(document.querySelector('#upload-stage'), {childList: true, subtree: true,
                                                             characterData: true}); }""")


def test_a_partner_works_in_their_language(browser, partners_server, demo_dir, reg, tmp_path):
    from dashboard import i18n

    url = partners_server
    for number, lang in enumerate(LANGUAGES):
        catalogue = i18n.catalogue(lang)
        said = {english: catalogue.get(english, english) for english in
                ("Checking every cell…", "Loading it into the database…",
                 "Reading the sheets of your workbook…",
                 "Waiting for the uploads sent before yours…", "Marking the cells to fix in your workbook…")}
        page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
        page.goto(f"{url}/login?lang={lang}")
        assert page.get_attribute("html", "lang") == lang
        login = page.inner_text("main")
        page.fill("#username", f"reader-{lang}")
        page.fill("#password", PASSWORD)
        page.click(".login-form button[type=submit]")
        page.wait_for_selector("#account-name")
        nav = page.inner_text("nav")

        page.goto(f"{url}/upload")
        page.wait_for_selector("#upload-file")
        page.check("#upload-mode input[value=check]")
        bad = edited(demo_dir / "RO_2023-Q1.xlsx", tmp_path / f"RO_2023-Q1_{lang}.xlsx",
                     {(reg.sheet("activities").label("ro"), "H3"): 500})
        drop(page, bad)
        checked = page.inner_text("main")
        assert page.locator(".verdict-refused").count() == 1, (lang, checked[:300])
        # a good workbook, submitted: a new version each time, its outreach a little higher
        page.check("#upload-mode input[value=submit]")
        page.evaluate("document.querySelector('#upload-verdict').id = 'checked-verdict'")  # wait for the next
        watch_stages(page)
        good = edited(demo_dir / "RO_2023-Q4.xlsx", tmp_path / f"RO_2023-Q4_{lang}.xlsx",
                      {(reg.sheet("outreach").label("ro"), "D3"): 2385 + 1000 * (number + 1)})
        drop(page, good)
        loaded = page.inner_text("main")
        assert page.locator(".verdict-loaded").count() == 1, (lang, loaded[:300])
        effect = page.inner_text("#upload-effect")
        grouped = rf"\d{{1,3}}{re.escape(get_group_symbol(lang))}\d{{3}}\b"
        assert re.search(grouped, effect), (lang, effect)  # 71 234, 71.234 or 71,234
        page.wait_for_selector("#upload-progress", state="hidden")  # gone with the answer
        stages = page.evaluate("window.stagesSeen")
        assert set(stages) & set(said.values()), (lang, stages)  # it said how far it had got

        page.goto(f"{url}/quality")
        page.wait_for_selector("#quality-summary")
        quality = page.inner_text("main")
        with page.expect_download() as download:
            page.click("""[id='{"table":"quality-findings","type":"download-csv"}']""")
        raw = download.value.path().read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
        headings = ", ".join(next(csv.reader(io.StringIO(raw.decode("utf-8-sig")))))
        page.close()

        shown = {"login": login, "navigation": nav, "upload (check)": checked, "upload (submit)": loaded,
                 "quality": quality, "download's headings": headings}
        for name, text in shown.items():
            if lang in SCRIPTS:
                share = share_in_script(text, lang)
                assert share >= 0.9, (lang, name, share, text[:400])
            elif lang != "en":
                assert not english_words(text, lang), (lang, name, english_words(text, lang), text[:400])
