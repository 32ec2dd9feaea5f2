"""The dashboard in headless Chromium, compared with `mvh kpis --json`."""

from __future__ import annotations

import pytest

from tests.conftest import expected

pytestmark = pytest.mark.browser
TARGETED = ["councils_established", "councils_strengthened", "authorities_supporting",
            "migrants_reached"]


def shown(page, kpi_id: str) -> int:
    return int(page.inner_text(f"#overview-value-{kpi_id}").replace(",", ""))


def test_overview_shows_the_four_targets_as_mvh_kpis(page, dashboard_url, demo_db):
    page.goto(f"{dashboard_url}/?as_of=2023-Q4")
    page.wait_for_selector("#overview-value-migrants_reached")
    truth = expected(demo_db, "2023-Q4")
    for kpi_id in TARGETED:
        assert shown(page, kpi_id) == truth[(kpi_id, None)]["value"]
        card = page.inner_text(f"#overview-card-{kpi_id}")
        assert f"of {truth[(kpi_id, None)]['target']:,}" in card
        assert "Achieved" in page.inner_text(f"#overview-status-{kpi_id}")  # in words
    assert shown(page, "direct_participants") == truth[("direct_participants", None)]["value"]
    assert page.inner_text("#overview-grid-FR-migrants_reached").split("\n")[:2] == [
        "346,500 / 330,000 planned", "target 330,000"]


def test_choosing_a_quarter_changes_the_url_and_the_figures(page, dashboard_url, demo_db):
    page.goto(f"{dashboard_url}/?as_of=2023-Q4")
    page.wait_for_selector("#overview-value-migrants_reached")
    page.click("#overview-as-of")
    page.get_by_role("option", name="2022-Q3", exact=True).click()
    page.wait_for_url("**/?as_of=2022-Q3")
    page.wait_for_function("document.querySelector('#overview-as-of-shown').innerText === '2022-Q3'")
    truth = expected(demo_db, "2022-Q3")
    for kpi_id in TARGETED:
        assert shown(page, kpi_id) == truth[(kpi_id, None)]["value"]
    assert "+92,007 since 2022-Q2" in page.inner_text("#overview-change-migrants_reached")
    # the status judges the value against the plan for the quarter, shown beside it
    assert [line for line in page.inner_text("#overview-grid-FR-migrants_reached").split("\n") if line] == [
        "31,763 / 59,400 planned", "target 330,000", "✖", "Off track"]


def test_the_chart_is_drawn(page, dashboard_url):
    page.goto(f"{dashboard_url}/?as_of=2023-Q1")
    page.wait_for_selector("#overview-progress .main-svg")
    assert page.locator("#overview-progress .scatterlayer .trace").count() == 8


def test_the_overview_fits_a_phone(phone, dashboard_url):
    phone.goto(f"{dashboard_url}/")
    phone.wait_for_selector("#overview-value-migrants_reached")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_keyboard_reaches_the_navigation_and_the_quarter_picker(page, dashboard_url):
    page.goto(f"{dashboard_url}/")
    page.wait_for_selector("#overview-value-migrants_reached")
    links = page.locator("nav a").all_inner_texts()
    focused = []
    for _ in range(len(links) + 6):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent"))
    assert focused[0] == "Skip to content"
    assert focused[1:-5] == links
    # then the header's controls: the language menu and its button, the approved-data switch
    assert focused[-4:-1] == ["Show", "Approved data only: off", "Log out"]
    assert page.evaluate("document.activeElement.closest('#overview-as-of') !== null")
