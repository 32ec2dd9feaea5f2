"""Sessions the server can end: a copied cookie stops working at logout, a new password, a disabled
account, after 8 hours, or from another address; older account databases get the session version."""

from __future__ import annotations

import sqlite3

from werkzeug.security import generate_password_hash

from dashboard.logins import MAX_AGE
from pipelines.access import accounts
from tests.conftest import mvh
from tests.dash_client import client_at, login, using


def logged_in_with_a_copy(app, username: str = "partner-bg", address: str = "127.0.0.1"):
    """A client logged in, and another carrying a copy of its session cookie (from `address`);
    both work at first."""
    original = app.server.test_client()
    assert login(original, username).status_code == 302
    copy = client_at(app, address)
    copy.set_cookie("session", original.get_cookie("session").value)
    assert original.get("/_dash-layout").status_code == 200
    return original, copy


def test_logout_ends_every_session_of_the_user(app, db):
    original, copy = logged_in_with_a_copy(app)
    assert copy.get("/_dash-layout").status_code == 200
    other_device = app.server.test_client()
    assert login(other_device, "partner-bg").status_code == 302
    assert original.post("/logout").status_code == 302
    assert copy.get("/_dash-layout").status_code == 401
    assert other_device.get("/_dash-layout").status_code == 401
    assert accounts.audit(1)[0]["action"] == "logout"
    assert login(app.server.test_client(), "partner-bg").status_code == 302  # a new login works


def test_a_new_password_or_a_disabled_account_ends_the_sessions(app, db, monkeypatch):
    _, copy = logged_in_with_a_copy(app)
    monkeypatch.setenv("MVH_PASSWORD", "another long password")
    mvh("users", "set-password", "partner-bg", db=db)
    assert copy.get("/_dash-layout").status_code == 401

    _, copy = logged_in_with_a_copy(app, "partner-ro")
    accounts.set_active("partner-ro", False)
    accounts.set_active("partner-ro", True)  # enabled again: the old session stays ended
    assert copy.get("/_dash-layout").status_code == 401
    assert login(app.server.test_client(), "partner-ro").status_code == 302


def test_a_session_ends_after_8_hours(app, db):
    client = app.server.test_client()
    login(client, "partner-bg")
    with client.session_transaction() as session:
        session["login_at"] -= MAX_AGE.total_seconds() - 60
    assert client.get("/_dash-layout").status_code == 200
    with client.session_transaction() as session:
        session["login_at"] -= 61
    assert client.get("/_dash-layout").status_code == 401


def test_a_session_is_dropped_from_another_address_even_claiming_the_first(app, db):
    original, copy = logged_in_with_a_copy(app, address="10.9.9.9")
    assert copy.get("/_dash-layout", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 401
    assert original.get("/_dash-layout").status_code == 200


def test_the_session_cookie_ends_with_the_browser(app, db):
    response = login(app.server.test_client())
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires" not in cookie and "Max-Age" not in cookie


def test_an_older_accounts_database_gets_the_session_version(tmp_path):
    with sqlite3.connect(tmp_path / "accounts.sqlite") as con:  # as the previous version made it
        con.execute("CREATE TABLE users (username TEXT PRIMARY KEY, role TEXT NOT NULL, country TEXT, "
                    "password_hash TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, "
                    "created_at TEXT NOT NULL, changed_at TEXT NOT NULL)")
        con.execute("INSERT INTO users VALUES ('ana', 'admin', NULL, ?, 1, '2024', '2024')",
                    [generate_password_hash("a password of some length")])
    with using(tmp_path / "mvh.duckdb"):
        assert accounts.verify("ana", "a password of some length").session == 0
        accounts.set_password("ana", "a brand new password")
        assert accounts.get("ana").session == 1
    with sqlite3.connect(tmp_path / "accounts.sqlite") as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == accounts.SCHEMA_VERSION
