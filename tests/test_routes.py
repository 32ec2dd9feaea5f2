"""Routes: only the exact public paths answer anonymous visitors, and no query argument takes the
place of a page or its access check."""

from __future__ import annotations

import pytest

from tests.dash_client import login, render, text

NOT_PUBLIC = ["/loginx", "/login/", "/login%2F..", "/login/../upload", "/login;x", "/LOGIN", "//login",
              "/healthzfoo", "/healthz/", "/_favicon.icox", "/_favicon.ico/x", "/assets/../upload",
              "/assets/..%2Fupload", "/assets//upload", "/assetsx/style.css", "/static/x",
              "/_dash-component-suites/dash/dash-renderer/build/dash_renderer.min.js"]


@pytest.fixture
def on_demo(demo_db, monkeypatch):
    monkeypatch.setenv("MVH_DB", str(demo_db))
    return demo_db


def test_only_the_exact_public_paths_are_open(app, on_demo):
    anonymous = app.server.test_client()
    assert 'name="csrf_token"' in anonymous.get("/login").get_data(as_text=True)
    assert anonymous.get("/healthz").get_data(as_text=True) == "ok"
    assert anonymous.get("/_favicon.ico").status_code == 200
    assert anonymous.get("/assets/style.css").status_code == 200
    for path in NOT_PUBLIC:
        response = anonymous.get(path)
        assert response.status_code == 401 or (response.status_code == 302
                                               and response.location.startswith("/login?next=")), path
        assert "_dash-config" not in response.get_data(as_text=True), path  # never the app shell


def test_query_arguments_never_stand_in_for_the_page(app, on_demo):
    manager = app.server.test_client()
    login(manager)
    page = render(manager, "/upload").get_json()
    for search in ("?_layout=Send+your+password+to+x%40evil.example", "?_page=x", "?_layout=&_page=",
                   "?layout=x&page=y&query=z"):
        shown = render(manager, "/upload", search)
        assert shown.status_code == 200, search
        assert shown.get_json() == page, search
    partner = app.server.test_client()
    login(partner, "partner-ro")
    refused = text(render(partner, "/trends", "?_page=x&_layout=y"))
    assert "access-refused" in refused and '"y"' not in refused
