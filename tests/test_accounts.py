"""`mvh users` and `mvh audit`, as an administrator uses them; passwords never as arguments."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from pipelines.access import accounts
from tests.conftest import ROOT
from tests.dash_client import using

SECRET = "a password of some length"


def users(db, *args, password: str | None = SECRET, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "MVH_DB": str(db)}
    env.pop("MVH_PASSWORD", None)
    if password is not None:
        env["MVH_PASSWORD"] = password
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=120)
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


def test_add_list_disable_enable_and_set_password(tmp_path):
    db = tmp_path / "mvh.duckdb"
    assert "account added: maria (partner RO)" in users(db, "users", "add", "Maria", "--role", "partner",
                                                        "--country", "ro").stdout
    users(db, "users", "add", "ana", "--role", "admin")
    listing = users(db, "users", "list").stdout
    assert "maria" in listing and "partner" in listing and "RO" in listing and "admin" in listing
    with using(db):
        assert accounts.verify("maria", SECRET) == accounts.User("maria", "partner", "RO")
        assert accounts.verify("maria", "another password") is None
    users(db, "users", "disable", "maria")
    with using(db):
        assert accounts.verify("maria", SECRET) is None
    users(db, "users", "enable", "maria")
    users(db, "users", "set-password", "maria", password="a brand new password")
    with using(db):
        assert accounts.verify("maria", "a brand new password") is not None
        assert accounts.verify("maria", SECRET) is None
        actions = [row["action"] for row in accounts.audit()]
    assert actions == ["password_set", "account_enabled", "account_disabled", "account_added",
                       "account_added"]
    assert SECRET.encode() not in (tmp_path / "accounts.sqlite").read_bytes()
    trail = users(db, "audit", "--action", "account_disabled").stdout
    assert "maria" in trail and "account_disabled" in trail and "account_added" not in trail


def test_refusals_say_what_to_do(tmp_path):
    db = tmp_path / "mvh.duckdb"
    cases = [
        (["users", "add", "x1", "--role", "partner"], SECRET, "A partner needs its country: --country"),
        (["users", "add", "x2", "--role", "manager", "--country", "RO"], SECRET, "Only partners are bound"),
        (["users", "add", "x3", "--role", "boss"], SECRET, "Unknown role 'boss'"),
        (["users", "add", "x4", "--role", "manager"], "short", "use at least 10 characters"),
        (["users", "add", "bad name!", "--role", "manager"], SECRET, "is not a valid user name"),
        (["users", "disable", "nobody"], SECRET, "No user nobody: see `mvh users list`"),
    ]
    for args, password, message in cases:
        result = users(db, *args, password=password, check=False)
        assert result.returncode == 2 and message in result.stdout, (args, result.stdout)
    users(db, "users", "add", "ana", "--role", "admin")
    again = users(db, "users", "add", "ana", "--role", "admin", check=False)
    assert again.returncode == 2 and "ana exists already" in again.stdout


def test_a_password_is_never_an_argument(tmp_path):
    result = users(tmp_path / "mvh.duckdb", "users", "add", "ana", "--role", "admin", "--password",
                   SECRET, check=False)
    assert result.returncode == 2 and "No such option" in result.stdout + result.stderr
    command = [sys.executable, "-m", "pipelines.cli", "users", "add", "ana", "--role", "admin"]
    prompted = subprocess.run(command, input=f"{SECRET}\n{SECRET}\n", capture_output=True, text=True,
                              cwd=ROOT, env={**{k: v for k, v in os.environ.items() if k != "MVH_PASSWORD"},
                                   "MVH_DB": str(tmp_path / "mvh.duckdb")}, timeout=120)
    assert prompted.returncode == 0 and SECRET not in prompted.stdout
    with using(tmp_path / "mvh.duckdb"):
        assert accounts.verify("ana", SECRET) is not None


def test_demo_accounts_once_with_their_passwords_in_a_private_file(tmp_path, reg):
    db = tmp_path / "mvh.duckdb"
    first = users(db, "users", "demo", password=None).stdout
    listing = tmp_path / "demo-logins.txt"
    lines = listing.read_text().splitlines()[1:]
    passwords = {line.split("\t")[0]: line.split("\t")[1] for line in lines}
    assert f"Log in as manager with the password {passwords['manager']}" in first
    assert len(lines) == 2 + len(reg.countries) + 1  # Italy: one per partner organisation
    assert lines[-1].endswith("partner\tRO\t") and "partner-it-2" in passwords
    assert stat.S_IMODE(listing.stat().st_mode) == 0o600
    with using(db):
        assert accounts.verify("manager", passwords["manager"]).role == "manager"
        assert accounts.verify("partner-ro", passwords["partner-ro"]).country == "RO"
        assert accounts.verify("partner-it-2", passwords["partner-it-2"]).organisation == "Regione Campania"
    users(db, "users", "demo", password=None)
    with using(db):
        assert len(accounts.users()) == 2 + len(reg.countries) + 1
