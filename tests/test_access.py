"""Who may do what, through Flask's test client: anonymous requests, partners against managers'
pages, callbacks and exports, CSRF, cookies, the login form and the audit trail."""

from __future__ import annotations

import base64
import sqlite3

import dash
import pytest

from pipelines.access import accounts
from tests.dash_client import (
    PAGES_OUTPUT,
    PASSWORD,
    add_accounts,
    dependencies,
    fire,
    ids,
    login,
    render,
    text,
    using,
)


@pytest.fixture
def on_demo(demo_db, monkeypatch):
    monkeypatch.setenv("MVH_DB", str(demo_db))
    return demo_db


def client_as(app, username: str | None):
    client = app.server.test_client()
    if username:
        assert login(client, username).status_code == 302
    return client


def page_of(path: str) -> dict:
    return next(p for p in dash.page_registry.values() if p["path"] == path)


MATCH = {"table": "entities-table"}  # the download buttons, fired as those of a managers' table


def manager_only(spec: dict) -> bool:
    """Whether a callback belongs to a page partners may not see (from its first output's id)."""
    ident = spec["output"].lstrip(".").rsplit(".", 1)[0].split("...")[0]
    name = MATCH["table"] if ident.startswith("{") else ident
    page = next(p for p in dash.page_registry.values()
                if p["module"].rsplit(".", 1)[-1] == name.split("-", 1)[0])
    return page.get("access", "manager") != "partner"


def test_anonymous_requests_are_refused_everywhere(app, on_demo):
    anonymous = app.server.test_client()
    for page in dash.page_registry.values():
        response = anonymous.get(page["path"])
        assert response.status_code == 302 and response.location.startswith("/login"), page["path"]
    for route in ("/_dash-layout", "/_dash-dependencies"):
        assert anonymous.get(route).status_code == 401, route
    specs = dependencies(client_as(app, "admin"))
    assert len(specs) >= 10
    for spec in specs:
        declared = [None] * len(spec["inputs"])
        response = fire(anonymous, spec, declared, [None] * len(spec["state"]), match={"table": "x"})
        assert response.status_code == 401, spec["output"]
    for rule in app.server.url_map.iter_rules():
        if not str(rule).startswith(("/login", "/assets", "/_favicon", "/healthz", "/static")) \
                and "<" not in str(rule):
            assert anonymous.get(str(rule)).status_code in (302, 401, 405), str(rule)


def test_a_partner_sees_its_pages_and_is_refused_the_others(app, on_demo):
    partner = client_as(app, "partner-ro")
    nav = text(partner.get("/_dash-layout"))
    assert "Upload" in nav and "Overview" in nav and "Provenance" in nav and "EU export" not in nav
    for page in dash.page_registry.values():
        shown = text(render(partner, page["path"]))
        refused = "access-refused" in shown
        assert refused == (page.get("access", "manager") != "partner"), page["path"]
    denied = accounts.audit(50, "partner-ro", "denied")
    assert {row["target"] for row in denied} >= {"/review", "/export", "/audit", "/trends"}


def test_a_partner_sees_its_own_country_whatever_the_url_asks(app, on_demo):
    partner = client_as(app, "partner-ro")
    for path, search in (("/countries", "?country=BG"), ("/countries", ""),
                         ("/provenance", "?kpi=migrants_reached&country=BG")):
        shown = text(render(partner, path, search))
        assert "Romania (RO)" in shown and "Bulgaria (BG)" not in shown, path + search
    rows = text(render(partner, "/provenance", "?kpi=migrants_reached"))
    assert "RO_2022-Q3.xlsx" in rows and "BG_2022-Q3.xlsx" not in rows
    assert "/review?" not in text(render(partner, "/countries"))  # managers' page: no links to it


def test_a_partner_cannot_fire_managers_callbacks_nor_export(app, on_demo):
    specs = dependencies(client_as(app, "manager"))
    partner = client_as(app, "partner-ro")
    refused = 0
    for spec in specs:
        if spec.get("clientside_function") or PAGES_OUTPUT in spec["output"] or not manager_only(spec):
            continue
        inputs = [1] * len(spec["inputs"])
        response = fire(partner, spec, inputs, [None] * len(spec["state"]),
                        match=MATCH)
        assert response.status_code == 403, spec["output"]
        refused += 1
    assert refused >= 4  # the export, the pickers of the managers' pages
    export = next(s for s in specs if s["output"].startswith("..export-download"))
    pack_of_2022 = ["2022-Q1", "2022-Q4", "xlsx", "2022-Q4"]  # from, to, format, as of
    assert fire(partner, export, [1], pack_of_2022).status_code == 403
    assert fire(client_as(app, "manager"), export, [1], pack_of_2022).status_code == 200
    assert accounts.audit(1, "manager", "export")[0]["detail"].startswith("period 2022-Q1..2022-Q4")


def test_a_partner_sees_only_its_own_submissions_and_findings(app, on_demo):
    partner, manager = client_as(app, "partner-ro"), client_as(app, "manager")
    for path in ("/submissions", "/quality"):
        mine = [i for i in ids(render(partner, path).get_json()) if isinstance(i, str) and "-cell-" in i]
        everyone = [i for i in ids(render(manager, path).get_json()) if isinstance(i, str) and "-cell-" in i]
        assert mine and all("-cell-RO-" in i for i in mine), path
        assert len(everyone) == 7 * len(mine), path
    assert "Bulgaria" not in text(render(partner, "/submissions"))


def test_a_partner_upload_for_another_country_is_refused(app, tmp_path, monkeypatch, demo_dir):
    monkeypatch.setenv("MVH_DB", str(tmp_path / "mvh.duckdb"))
    add_accounts(tmp_path / "mvh.duckdb")
    partner = client_as(app, "partner-ro")
    spec = next(s for s in dependencies(partner) if s["output"] == "upload-result.children")
    contents = "data:;base64," + base64.b64encode((demo_dir / "BG_2022-Q3.xlsx").read_bytes()).decode()
    shown = text(fire(partner, spec, [{"contents": contents, "filename": "BG_2022-Q3.xlsx"}],
                      ["submit", ""]))
    assert "the workbook was not loaded" in shown and "RO" in shown
    assert not (tmp_path / "files").exists()  # nothing stored as accepted
    assert list((tmp_path / "uploads").glob("*/BG_2022-Q3.xlsx"))  # the bytes are kept
    assert accounts.audit(1, "partner-ro")[0]["action"] == "upload_rejected"


def test_state_changes_need_the_csrf_token(app, on_demo):
    manager = client_as(app, "manager")
    spec = next(s for s in dependencies(manager) if s["output"] == "trends-url.search")
    assert fire(manager, spec, ["migrants_reached", "2023-Q1"]).status_code == 200
    del manager.environ_base["HTTP_X_CSRFTOKEN"]
    response = fire(manager, spec, ["migrants_reached", "2023-Q1"])
    assert response.status_code == 400 and "CSRF" in response.get_json()["error"]
    fresh = app.server.test_client()
    assert fresh.post("/login", data={"username": "manager", "password": PASSWORD}).status_code == 400


def test_cookies_are_secure_httponly_and_samesite(app, on_demo):
    response = login(app.server.test_client())
    session = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Secure" in session


def test_logins_and_failures_are_audited(app, tmp_path, monkeypatch):
    monkeypatch.setenv("MVH_DB", str(tmp_path / "mvh.duckdb"))
    add_accounts(tmp_path / "mvh.duckdb")
    assert login(app.server.test_client(), "partner-bg", "wrong password").status_code == 401
    row = accounts.audit(1)[0]
    assert (row["actor"], row["action"], row["address"]) == ("partner-bg", "login_failed", "127.0.0.1")
    assert login(app.server.test_client(), "partner-ro").status_code == 302
    assert accounts.audit(1)[0]["action"] == "login"


def test_a_disabled_account_is_logged_out_at_its_next_request(app, tmp_path, monkeypatch):
    monkeypatch.setenv("MVH_DB", str(tmp_path / "mvh.duckdb"))
    add_accounts(tmp_path / "mvh.duckdb")
    client = client_as(app, "partner-bg")
    assert client.get("/_dash-layout").status_code == 200
    accounts.set_active("partner-bg", False)
    assert client.get("/_dash-layout").status_code == 401
    assert login(app.server.test_client(), "partner-bg").status_code == 401


def test_login_never_redirects_off_site(app, on_demo):
    client = app.server.test_client()
    form = client.get("/login?next=https://evil.example/x").get_data(as_text=True)
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/login?next=https://evil.example/x",
                           data={"username": "manager", "password": PASSWORD, "csrf_token": token})
    assert response.location == "/"


def test_the_server_refuses_an_oversized_request_with_a_message(app, on_demo):
    manager = client_as(app, "manager")
    response = manager.post("/_dash-update-component", data=b"x" * (31 * 1024 * 1024),
                            content_type="application/json")
    assert response.status_code == 413 and "20 MB" in response.get_json()["error"]


def test_the_audit_trail_cannot_be_edited(tmp_path):
    with using(tmp_path / "mvh.duckdb"):
        accounts.record("login", "someone", address="10.0.0.1")
        with accounts.connect() as con, pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
            con.execute("UPDATE audit SET actor = 'nobody'")
        with accounts.connect() as con, pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
            con.execute("DELETE FROM audit")
        assert accounts.audit()[0]["actor"] == "someone"


def test_the_admin_page_shows_the_audit_trail(app, on_demo):
    shown = text(render(client_as(app, "admin"), "/audit"))
    assert "audit-trail" in shown and "login" in shown and "partner-ro" in shown
    assert "access-refused" in text(render(client_as(app, "manager"), "/audit"))
