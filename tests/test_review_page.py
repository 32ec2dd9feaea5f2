"""The Review page: a manager returns one quarter and approves another in headless Chromium,
reads a corrected workbook's changed cells, warnings and effect on the KPIs, on a laptop and on a
phone; partners and anonymous users can neither open the page nor fire its decisions."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from pipelines import ingest
from pipelines.access import accounts, approvals, finding_notes
from pipelines.marts import kpis
from tests.conftest import _watched, served, sign_in
from tests.dash_client import dependencies, fire, login, render, text, using
from tests.workbooks import edited

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, demo_db, demo_dir, reg):
    """A dashboard of its own on a copy of the demo database where Romania corrected 2022-Q3:
    version 2 with a note, another reporter, 1,000 more migrants reached and a column that is no
    field of the template (a warning). Yields its URL and database."""
    folder = tmp_path_factory.mktemp("review")
    db = folder / "mvh.duckdb"
    shutil.copy(demo_db, db)
    cover, outreach = reg.cover.label("ro"), reg.sheet("outreach").label("ro")
    corrected = edited(demo_dir / "RO_2022-Q3.xlsx", folder / "in" / "RO_2022-Q3.xlsx", {
        (cover, "B6"): "Corrected by the partner", (cover, "B9"): "Campaign audience recounted",
        (outreach, "D3"): 1983, (outreach, "G2"): "Checked by"})
    [outcome] = ingest.ingest([corrected], reg, db)
    assert (outcome.status, outcome.version) == ("accepted", 2)
    with served(db) as url:
        yield url, db


def states(db, reg) -> dict[tuple, dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = approvals.table(con, reg, reg.quarters[-1], db)
    return {(r["country"], r["quarter"], r["organisation"]): r for r in rows}


@pytest.fixture
def laptop(browser, reviewed):
    """A 1440 px window on the review dashboard, logged in as the manager; the test fails on any
    error in the browser console."""
    yield from _watched(browser, reviewed[0], 1440, 900, mobile=False)


@pytest.fixture
def handset(browser, reviewed):
    """A 390 px phone on the review dashboard, logged in as the manager."""
    yield from _watched(browser, reviewed[0], 390, 844, mobile=True)


def opened(page, reviewed, path: str):
    """A page of the review dashboard, once its queue is there."""
    page.goto(reviewed[0] + path)
    page.wait_for_selector("#review-queue")
    return page


def decide(page, button: str, reason: str = "") -> str:
    """Write the reason, press a decision button and wait for what the page says."""
    page.evaluate("document.querySelector('#review-result').textContent = 'waiting'")
    page.fill("#review-reason", reason)
    page.click(f"#review-{button}")
    page.wait_for_function("!['waiting', ''].includes(document.querySelector('#review-result')?.textContent)")
    return page.inner_text("#review-result")


def test_a_manager_returns_a_correction_and_approves_another_quarter(laptop, reviewed, reg):
    _url, db = reviewed
    page = opened(laptop, reviewed, "/review")
    queue = page.inner_text("#review-queue-table")
    assert queue.index("Romania (RO) 2022-Q3") > queue.index("Austria (AT) 2022-Q3")  # oldest first
    page.get_by_role("link", name="Romania (RO) 2022-Q3").click()
    page.wait_for_url("**/review?country=RO&quarter=2022-Q3")
    page.wait_for_selector(".review-changes")
    assert "Version 2 · PATRIR · current" in page.inner_text("#review-view")
    assert "Campaign audience recounted" in page.inner_text(".review-notes >> nth=0")
    changes = page.inner_text(".review-changes")
    assert "Acoperire!D3" in changes and "RO-22Q3-O2" in changes and "1983" in changes
    assert "ignored_column" in page.inner_text(".review-findings")
    effect = page.inner_text(".review-effect >> nth=0")
    assert "Migrants reached" in effect and "+1,000" in effect and "Whole project" in effect
    assert "Direct participations" not in effect  # unchanged KPIs are left out
    page.screenshot(path="/tmp/review-1440.png", full_page=True)

    assert "give the reason" in decide(page, "return")
    assert states(db, reg)[("RO", "2022-Q3", "")]["state"] == "submitted"
    said = decide(page, "return", "The campaign's audience needs its source")
    assert said == "RO 2022-Q3 version 2: returned."
    returned = states(db, reg)[("RO", "2022-Q3", "")]
    assert (returned["state"], returned["decided_actor"], returned["decided_reason"]) == (
        "returned", "manager", "The campaign's audience needs its source")
    assert "returned — by manager on" in page.inner_text("#review-keys")
    assert page.inner_text("#review-mail").startswith("E-mail is not configured")  # no SMTP in tests
    # returned: it may still be approved (the partner's explanation sufficed), not returned again
    assert page.is_visible("#review-approve") and page.is_hidden("#review-return")
    assert "Romania (RO) 2022-Q3" not in page.inner_text("#review-queue")

    page.get_by_role("link", name="Austria (AT) 2022-Q3").click()
    page.wait_for_function("document.querySelector('#review-title')?.textContent === 'Austria (AT) 2022-Q3'")
    assert decide(page, "approve", "Checked against the invoices") == "AT 2022-Q3 version 1: approved."
    assert states(db, reg)[("AT", "2022-Q3", "")]["state"] == "approved"
    assert page.is_visible("#review-reopen") and page.is_hidden("#review-approve")
    assert "Checked against the invoices" in page.inner_text("#review-decisions")


def test_the_history_of_a_quarter_reads_well_on_a_phone(handset, reviewed):
    page = opened(handset, reviewed, "/review?country=RO&quarter=2022-Q3")
    page.wait_for_selector(".review-effect")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path="/tmp/review-390.png")
    page.locator(".review-version >> nth=0").screenshot(path="/tmp/review-390-version.png")


def test_partners_and_anonymous_users_cannot_decide(app, reviewed, reg):
    _url, db = reviewed
    campania = approvals.Key("IT", "2022-Q3", "Regione Campania")
    with using(db):
        manager, partner, anonymous = (app.server.test_client() for _ in range(3))
        login(manager, "manager")
        login(partner, "partner-ro")
        [spec] = [s for s in dependencies(manager) if "review-status.children" in s["output"]]

        def approve(client, version: int = 1):
            """Approve Regione Campania's IT 2022-Q3, shown at `version`, as the page would."""
            shown = {"country": "IT", "quarter": "2022-Q3", "versions": {campania.reporter: version}}
            return fire(client, spec, [1, None, None], [shown, campania.reporter, ""])

        assert "access-refused" in text(render(partner, "/review"))
        assert approve(partner).status_code == 403
        assert anonymous.get("/review").status_code == 302
        assert approve(anonymous).status_code == 401
        assert "reload the page" in text(approve(manager, version=0))  # a version it did not show
        assert approvals.decisions([campania]) == []
        assert "version 1: approved" in text(approve(manager))  # the same request, from a manager
    assert states(db, reg)[("IT", "2022-Q3", "Regione Campania")]["state"] == "approved"
    assert states(db, reg)[("IT", "2022-Q3", "ActionAid Italia")]["state"] == "submitted"


def test_partners_cannot_accept_a_warning_nor_anonymous_users_explain_one(app, reviewed):
    _url, db = reviewed
    with duckdb.connect(str(db), read_only=True) as con:
        [warning] = con.execute("SELECT f.submission_id, f.sheet, f.cell, f.rule FROM findings f JOIN "
                                "submissions s USING (submission_id) WHERE s.country = 'RO' AND "
                                "s.quarter = '2022-Q3' AND f.rule = 'ignored_column'").df().to_dict("records")
    chosen = finding_notes.Finding.of(warning)
    with using(db):
        partner, other, anonymous = (app.server.test_client() for _ in range(3))
        login(partner, "partner-ro")
        login(other, "partner-bg")
        [spec] = [s for s in dependencies(partner) if "quality-note-result.children" in s["output"]]

        def press(client, button: int, note: str = "Looks right"):
            clicks = [None, None, None]
            clicks[button] = 1
            return fire(client, spec, clicks, [[warning], note, "all", "RO", "2022-Q3"], changed=button)

        before = finding_notes.by_finding().get(chosen, [])
        assert "Your account may not do this." in text(press(partner, 1))  # accept
        assert "Your account may not do this." in text(press(partner, 2))  # ask for a correction
        assert "Choose a warning" in text(press(other, 0))  # another country's warning: not theirs
        assert press(anonymous, 0).status_code == 401
        assert finding_notes.by_finding().get(chosen, []) == before
        denied = [a["target"] for a in accounts.audit(10, actor="partner-ro") if a["action"] == "denied"]
        assert denied[:2] == ["warning correct", "warning accept"]


def test_approved_data_only_switch_counts_approved_quarters(laptop, reviewed, reg):
    """The header's switch: the KPIs of approved quarters only (here AT 2022-Q1 alone, as of
    2022-Q1), with a notice, until switched off again; the reader's choice is theirs alone."""
    _url, db = reviewed
    key = approvals.Key("AT", "2022-Q1")
    with duckdb.connect(str(db), read_only=True) as con:
        version = approvals.current(con, "AT", "2022-Q1")[key]
        approvals.decide("approve", key, version, "manager", database=db)
        counted = approvals.approved_only(con, db)
        only_at = kpis.compute(con, reg, "2022-Q1", current=counted)
        everything = kpis.compute(con, reg, "2022-Q1")
    shown = "#overview-value-migrants_reached"

    def reach(frame) -> str:
        value = frame[(frame["id"] == "migrants_reached") & frame["country"].isna()]["value"].item()
        return f"{value:,.0f}"

    page = laptop
    page.goto(reviewed[0] + "/?as_of=2022-Q1")
    assert page.inner_text(shown) == reach(everything)
    assert page.get_attribute("#counting-switch", "aria-pressed") == "false"
    page.click("#counting-switch")
    page.wait_for_selector("#counting-notice")
    assert page.inner_text(shown) == reach(only_at) != reach(everything)
    current = [r for r in states(db, reg).values() if r["version"] is not None]
    approved = sum(r["state"] == "approved" for r in current)
    notice = page.inner_text("#counting-notice")
    assert f"({approved} of {len(current)} current versions are approved)" in notice
    assert page.get_attribute("#counting-switch", "aria-pressed") == "true"
    assert "as_of=2022-Q1" in page.url  # back on the page it was switched on
    page.click("#counting-switch")
    page.wait_for_selector("#counting-notice", state="detached")
    assert page.inner_text(shown) == reach(everything)


def test_a_partner_explains_a_warning_and_the_manager_accepts_it(browser, reviewed):
    """On Data quality: the Romanian partner explains version 2's ignored column; the manager
    reads the explanation (there and on the Review page) and accepts the warning, which closes it:
    gone from the open items, listed as accepted with ?show=all."""
    url, _db = reviewed
    where = "/quality?country=RO&quarter=2022-Q3"
    warning = "#quality-findings .ag-center-cols-container .ag-row"

    def choose(page):
        page.goto(url + where)
        page.locator(warning, has_text="Ignored column").click()
        page.wait_for_function("document.querySelector('#quality-chosen').textContent.includes('G2')")

    def press(page, button: str, note: str = "") -> str:
        page.evaluate("document.querySelector('#quality-note-result').textContent = 'waiting'")
        page.fill("#quality-note", note)
        page.click(f"#quality-{button}")
        page.wait_for_function("!['waiting', ''].includes("
                               "document.querySelector('#quality-note-result').textContent)")
        return page.inner_text("#quality-note-result")

    partner = next(_watched(browser, url, 1440, 900, mobile=False))
    partner.goto(url + "/logout")  # the watched page is the manager's: log in as the partner instead
    sign_in(partner, url, "partner-ro")
    choose(partner)
    assert partner.is_hidden("#quality-accept")  # partners explain, managers decide
    assert press(partner, "explain") == "Write the explanation first."
    assert press(partner, "explain", "The column is our own check, not data") == "Explanation sent."
    assert "explained by partner-ro" in partner.inner_text("#quality-notes")

    manager = next(_watched(browser, url, 1440, 900, mobile=False))
    choose(manager)
    assert "The column is our own check, not data" in manager.inner_text("#quality-notes")
    assert press(manager, "accept") == "Warning accepted: it is closed."
    manager.wait_for_function(
        "!document.querySelector('#quality-findings').textContent.includes('Ignored column')")
    manager.goto(url + where + "&show=all")
    row = manager.locator(warning, has_text="Ignored column").first
    assert "closed: accepted" in manager.locator("#quality-findings").inner_text()
    assert row.is_visible()
    manager.goto(url + "/review?country=RO&quarter=2022-Q3")
    said = manager.inner_text(".review-findings")
    assert "explained by partner-ro" in said and "accepted by manager" in said
