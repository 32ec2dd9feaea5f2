"""A data folder that cannot be written (a read-only file system, a full disk): the pages stay
readable, audit rows that cannot be written are logged, logins are paused until it is writable.
The folder is a real tmpfs mounted for the test (root only: chmod does not stop root)."""

from __future__ import annotations

import pytest

from pipelines.access import accounts
from tests.conftest import fill, remount
from tests.dash_client import login, render, text


def signed_in(app, *usernames):
    clients = [app.server.test_client() for _ in usernames]
    for client, username in zip(clients, usernames, strict=True):
        assert login(client, username).status_code == 302
    return clients


def readable_and_audit_logged(app, manager, partner, admin, caplog) -> None:
    for path in ("/", "/submissions", "/quality"):
        shown = render(manager, path)
        assert shown.status_code == 200 and "access-refused" not in text(shown), path
    assert "audit-trail" in text(render(admin, "/audit"))  # read from the accounts database
    assert "access-refused" in text(render(partner, "/export"))
    assert "The audit row denied by 'partner-ro' on '/export' could not be written" in caplog.text
    paused = login(app.server.test_client(), "manager")
    assert paused.status_code == 503 and "Logging in is paused" in paused.get_data(as_text=True)
    assert manager.post("/logout").status_code == 302
    assert "The end of manager's sessions could not be written" in caplog.text


def test_a_read_only_data_folder(app, data_folder, caplog):
    manager, partner, admin = signed_in(app, "manager", "partner-ro", "admin")
    remount(data_folder, "ro")
    with pytest.raises(OSError, match="Read-only file system"):
        (data_folder / "probe").touch()
    readable_and_audit_logged(app, manager, partner, admin, caplog)
    remount(data_folder, "rw")
    assert login(app.server.test_client(), "manager").status_code == 302  # at once, when writable
    assert accounts.audit(1)[0]["action"] == "login"


def test_a_full_disk(app, data_folder, caplog):
    manager, partner, admin = signed_in(app, "manager", "partner-ro", "admin")
    fill(data_folder)
    readable_and_audit_logged(app, manager, partner, admin, caplog)
    (data_folder / "filler").unlink()
    assert login(app.server.test_client(), "manager").status_code == 302
