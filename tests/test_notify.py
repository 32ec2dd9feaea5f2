"""E-mail notices and reminders through a real SMTP server (aiosmtpd) on the demo database: each
partner in their language, only the partners concerned, never twice, nothing without a server."""

from __future__ import annotations

import email
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipelines.access import accounts
from pipelines.notify import server, texts
from tests.conftest import ROOT, mvh
from tests.dash_client import PASSWORD, free_port, using
from tests.workbooks import edited

# who has an account on the copy of the demo database: (role, country, organisation, e-mail, lang)
PEOPLE = {
    "ana": ("partner", "BG", None, "ana@wcif.example.bg", None),           # Bulgarian, her country's
    "ivo": ("partner", "BG", "Mission Wings Foundation", "ivo@mwf.example.bg", "en"),
    "luc": ("partner", "FR", None, "luc@groupe-sos.example.fr", None),
    "eva": ("partner", "HU", None, "eva@svf.example.hu", None),
    "aa": ("partner", "IT", "ActionAid Italia", "aa@actionaid.example.it", None),
    "rc": ("partner", "IT", "Regione Campania", "rc@regione.example.it", None),
    "radu": ("partner", "RO", None, None, None),                             # no address: no mail
    "gone": ("partner", "BG", None, "gone@wcif.example.bg", None),         # disabled below
    "boss": ("manager", None, None, "boss@coordination.example.eu", None),
    "root": ("admin", None, None, "root@coordination.example.eu", "de"),
}
HU_DUE = "2022-10-30"  # the demo has no workbook for HU 2022-Q3 (due 30 days after 30 September)


class Inbox:
    """An aiosmtpd handler keeping each message it receives: (its envelope recipients, itself)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content,
                                                                          policy=policy.default)))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpt, m in self.messages if rcpt == [address]]


@pytest.fixture
def inbox(monkeypatch):
    """A real SMTP server on a free port, set as the monitor's: every message it received."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    for name, value in {"MVH_SMTP_HOST": "127.0.0.1", "MVH_SMTP_PORT": str(controller.port),
                        "MVH_SMTP_STARTTLS": "false", "MVH_MAIL_FROM": "MVH monitor <monitor@example.org>"
                        }.items():
        monkeypatch.setenv(name, value)
    for name in ("MVH_SMTP_USER", "MVH_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    yield handler
    controller.stop()


@pytest.fixture
def copy(demo_db, tmp_path, monkeypatch, reg):
    """A copy of the demo database (every workbook loaded just now, none for HU 2022-Q3) with
    the accounts of PEOPLE beside it."""
    db = tmp_path / "mvh.duckdb"
    shutil.copy(demo_db, db)
    monkeypatch.setenv("MVH_DB", str(db))
    for name, (role, country, organisation, address, lang) in PEOPLE.items():
        accounts.add(name, role, PASSWORD, country, reg, organisation, email=address, lang=lang)
    accounts.set_active("gone", False)
    return db


def remind(db, *args: str, check: bool = True) -> dict:
    result = mvh("remind", "--json", *args, db=db, check=check)
    return {**json.loads(result.stdout), "code": result.returncode}


def sent(db) -> list[tuple]:
    with sqlite3.connect(db.parent / "accounts.sqlite") as con:
        return con.execute("SELECT key, recipient, at FROM mail_sent ORDER BY key").fetchall()


def text(message: email.message.EmailMessage) -> str:
    """A message's text as written (it travels with CRLF line ends)."""
    return message.get_content().replace("\r\n", "\n")


def test_loads_are_mailed_to_the_partners_concerned_in_their_language_once(copy, inbox, reg):
    run = remind(copy)
    mails = run["messages"]
    assert run["code"] == 0 and {m["status"] for m in mails} == {"sent"}
    assert len(inbox.messages) == len(mails) == len(sent(copy))
    loaded = [m for m in mails if m["kind"] == "loaded"]
    bg = {(m["recipient"], m["key"].split(":")[2]) for m in loaded if m["key"].startswith("loaded:BG:")}
    assert bg == {(who, q) for who in ("ana", "ivo") for q in reg.quarters}  # not the disabled one
    it = {(m["recipient"], m["key"].split(":")[3]) for m in loaded if m["key"].startswith("loaded:IT:")}
    assert it == {("aa", "ActionAid Italia"), ("rc", "Regione Campania")}  # each its own only
    assert {m["recipient"] for m in mails} == set(PEOPLE) - {"radu", "gone"}

    [ana] = [m for m in inbox.to("ana@wcif.example.bg") if "2022-Q3:" in m["Subject"]]
    assert ana["Subject"] == "[MVH] BG 2022-Q3: получена е версия 1"
    assert ana["From"] == "MVH monitor <monitor@example.org>"
    assert "Здравейте," in text(ana) and "зареден като версия 1" in text(ana)
    assert "Предупреждения за проверка: " in text(ana)
    [ivo] = [m for m in inbox.to("ivo@mwf.example.bg") if "2022-Q3:" in m["Subject"]]
    assert ivo["Subject"] == "[MVH] BG 2022-Q3: version 1 received"  # he asked for English
    [luc] = [m for m in inbox.to("luc@groupe-sos.example.fr") if "2022-Q3 :" in m["Subject"]]
    assert luc["Subject"] == "[MVH] FR 2022-Q3 : version 1 reçue" and "Bonjour," in text(luc)
    [aa] = [m for m in inbox.to("aa@actionaid.example.it") if "2022-Q3" in m["Subject"]]
    assert aa["Subject"] == "[MVH] IT 2022-Q3 (ActionAid Italia): ricevuta la versione 1"

    again = remind(copy)
    assert again["code"] == 0 and again["messages"] == [] and len(inbox.messages) == len(mails)
    listing = mvh("remind", db=copy).stdout
    assert "Nothing is due on" in listing and "E-mail is sent through 127.0.0.1:" in listing
    [audited] = [r for r in accounts.audit() if r["action"] == "mail_sent"]
    assert audited["detail"].startswith(f"{len(mails)} message(s): ") and audited["actor"].startswith("cli:")


def test_a_version_ingested_is_mailed_at_once_with_its_warnings_in_the_partners_words(copy, inbox, reg,
                                                                                      demo_dir, tmp_path):
    remind(copy)  # the loads of the demo first
    councils = reg.sheet("councils").label("bg")
    back = edited(demo_dir / "BG_2023-Q4.xlsx", tmp_path / "BG_2023-Q4.xlsx", {(councils, "F3"): "planned"})
    assert "e-mailed 2 message(s)" in mvh("ingest", str(back), db=copy).stdout
    ana, ivo = inbox.to("ana@wcif.example.bg")[-1], inbox.to("ivo@mwf.example.bg")[-1]
    assert ana["Subject"] == "[MVH] BG 2023-Q4: получена е версия 2"
    [(_, bg)] = re.findall(rf"Предупреждения за проверка: 1\n- ({councils}!F3: )(.+)\n", text(ana))
    [(_, en)] = re.findall(rf"Warnings to check: 1\n- ({councils}!F3: )(.+)\n", text(ivo))
    assert "'planned'" in en and bg != en


def test_the_managers_digest(copy, inbox):
    remind(copy)
    [boss] = inbox.to("boss@coordination.example.eu")
    assert re.fullmatch(r"\[MVH\] Weekly summary \(\d{4}-W\d\d\)", boss["Subject"])
    body = text(boss)
    assert "Late workbooks (none received by the due date): 1\n- HU 2022-Q3: due on " + HU_DUE in body
    waiting = re.search(r"Waiting for a decision, oldest first: (\d+)", body)
    assert int(waiting.group(1)) > 25 and "… and " in body  # every demo version waits
    [root] = inbox.to("root@coordination.example.eu")
    assert root["Subject"].startswith("[MVH] Wochenübersicht") and "Verspätete Arbeitsmappen" in text(root)
    assert not [m for m in inbox.to("ana@wcif.example.bg") if "Weekly" in m["Subject"]]


def test_a_reminder_before_the_due_date_and_overdue_notices_after_it(copy, inbox):
    def partners(day: str) -> list[tuple[str, str, str]]:
        run = remind(copy, "--today", day)
        assert run["code"] == 0
        return [(m["recipient"], m["kind"], m["subject"]) for m in run["messages"] if m["kind"] != "digest"]

    assert partners("2022-10-22") == []  # more than 7 days before; the loads happened since
    assert partners("2022-10-23") == [("eva", "due", f"[MVH] HU 2022-Q3: a munkafüzet határideje {HU_DUE}")]
    assert partners("2022-10-30") == []  # reminded once
    assert partners("2022-10-31") == [("eva", "overdue", "[MVH] HU 2022-Q3: lejárt a munkafüzet határideje")]
    assert partners("2022-11-06") == []  # a week passes between notices
    assert [k for _, k, _ in partners("2022-11-07")] == ["overdue"]
    [notice] = [m for m in inbox.to("eva@svf.example.hu") if "lejárt" in m["Subject"]][:1]
    assert f"határideje {HU_DUE} volt" in text(notice) and "Jó napot kívánunk!" in text(notice)
    keys = [key for key, _, _ in sent(copy) if ":HU:" in key]
    assert keys == ["due:HU:2022-Q3:eva", "overdue:HU:2022-Q3:1:eva", "overdue:HU:2022-Q3:2:eva"]


def test_decisions_are_mailed_at_once_with_the_reason(copy, inbox):
    remind(copy)  # the loads of the demo first
    before = len(inbox.messages)
    returned = mvh("return", "--country", "BG", "--quarter", "2022-Q3", "--reason",
                   "Участниците в дейност A3 не са 12", db=copy)
    assert "e-mailed 2 message(s)" in returned.stdout
    ana, ivo = inbox.to("ana@wcif.example.bg")[-1], inbox.to("ivo@mwf.example.bg")[-1]
    assert ana["Subject"] == "[MVH] BG 2022-Q3: върнат за корекция"
    assert "по следната причина:\n\nУчастниците в дейност A3 не са 12\n\nМоля, коригирайте" in text(ana)
    assert ivo["Subject"] == "[MVH] BG 2022-Q3: returned for correction"
    mvh("approve", "--country", "IT", "--quarter", "2022-Q3", "--organisation", "Regione Campania",
        "--comment", "Tutto in ordine", db=copy)
    rc = inbox.to("rc@regione.example.it")[-1]
    assert rc["Subject"] == "[MVH] IT 2022-Q3 (Regione Campania): approvato"
    assert "Commento: Tutto in ordine" in text(rc)
    assert len(inbox.messages) == before + 3  # nothing to the other organisation of Italy


def test_nothing_is_sent_without_a_server_and_a_dry_run_records_nothing(copy, inbox, monkeypatch):
    listed = remind(copy, "--dry-run")
    assert listed["code"] == 0 and {m["status"] for m in listed["messages"]} == {"listed"}
    assert inbox.messages == [] and sent(copy) == []
    monkeypatch.delenv("MVH_SMTP_HOST")
    refused = mvh("remind", db=copy, check=False)
    assert refused.returncode == 2 and "E-mail is not configured: set MVH_SMTP_HOST" in refused.stdout
    run = remind(copy, "--dry-run")
    assert run["configured"] is False and len(run["messages"]) == len(listed["messages"])
    assert inbox.messages == [] and sent(copy) == []
    assert not [r for r in accounts.audit() if r["action"] == "mail_sent"]


def test_an_unreachable_server_leaves_every_message_for_the_next_run(copy, inbox, monkeypatch):
    port = os.environ["MVH_SMTP_PORT"]
    monkeypatch.setenv("MVH_SMTP_PORT", str(free_port()))  # nobody listens there
    failed = mvh("remind", db=copy, check=False)
    assert failed.returncode == 1 and "could not be used" in failed.stdout and sent(copy) == []
    monkeypatch.setenv("MVH_SMTP_PORT", port)
    assert remind(copy)["code"] == 0 and len(inbox.messages) == len(sent(copy)) > 0


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_server_logs_in_when_a_user_is_given(copy, monkeypatch):
    logins = []

    def authenticator(server, session, envelope, mechanism, data: LoginPassword) -> AuthResult:
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"mail secret")

    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        for name, value in {"MVH_SMTP_HOST": "127.0.0.1", "MVH_SMTP_PORT": str(controller.port),
                            "MVH_SMTP_STARTTLS": "false", "MVH_MAIL_FROM": "monitor@example.org",
                            "MVH_SMTP_USER": "monitor", "MVH_SMTP_PASSWORD": "mail secret"}.items():
            monkeypatch.setenv(name, value)
        assert remind(copy, "--today", "2022-10-24")["code"] == 0
        assert logins == [(b"monitor", b"mail secret")] and handler.messages
    finally:
        controller.stop()


def test_the_servers_mailer_sends_when_woken(copy, inbox, reg):
    thread = server.start(reg, first=3600)
    server.soon()
    for _ in range(240):  # the run is over when it is audited
        if audited := [r for r in accounts.audit() if r["action"] == "mail_sent"]:
            break
        time.sleep(0.25)
    server.stop(thread)  # its run over, so that no later test of this process gets its mail
    assert not thread.is_alive()
    assert [r["actor"] for r in audited] == ["server"] and inbox.to("boss@coordination.example.eu")
    assert len(inbox.messages) == len(sent(copy)) and all(at for _, _, at in sent(copy))

def test_the_servers_mailer_logs_a_failure_and_goes_on(tmp_path, monkeypatch, inbox, reg, caplog):
    db = tmp_path / "mvh.duckdb"
    db.write_bytes(b"not a database")
    monkeypatch.setenv("MVH_DB", str(db))
    accounts.add("boss", "manager", PASSWORD, None, reg, email="boss@coordination.example.eu")
    server._send(reg)  # what the thread runs: it must return, whatever happened
    assert "e-mailing what is due failed" in caplog.text and inbox.messages == []

def test_every_text_is_written_in_every_language(reg):
    placeholders = re.compile(r"\{(\w+)\}")
    for kind, parts in texts.catalogue().items():
        for part, by_lang in parts.items():
            assert set(by_lang) == set(reg.languages), f"{kind}.{part}"
            english = by_lang["en"]
            for lang, words in by_lang.items():
                assert sorted(placeholders.findall(words)) == sorted(placeholders.findall(english)), lang
                assert lang == "en" or words != english, f"{kind}.{part}.{lang} is the English text"


def test_accounts_get_an_address_and_a_language(tmp_path):
    db = tmp_path / "mvh.duckdb"
    env = {"MVH_PASSWORD": PASSWORD}
    added = users(db, env, "add", "maria", "--role", "partner", "--country", "RO", "--email",
                  "maria@patrir.example.ro", "--lang", "EN")
    assert "account added: maria (partner RO, e-mail maria@patrir.example.ro in en)" in added.stdout
    users(db, env, "add", "petra", "--role", "manager")
    for args, message in [
        (["add", "x1", "--role", "manager", "--email", "Petra <petra@x.eu>"], "'Petra <petra@x.eu>' is not "
         "an e-mail address: write it as name@example.org."),
        (["add", "x2", "--role", "manager", "--lang", "es"], "Unknown language 'es': use one of en, de, bg"),
        (["set-email", "petra", "petra@localhost"], "is not an e-mail address"),
        (["set-lang", "petra", "xx"], "Unknown language 'xx'"),
        (["set-email", "nobody", "n@x.eu"], "No user nobody"),
    ]:
        refused = users(db, env, *args, check=False)
        assert refused.returncode == 2 and message in refused.stdout, (args, refused.stdout)
    users(db, env, "set-email", "petra", "petra@coordination.example.eu")
    users(db, env, "set-lang", "maria", "")  # back to her country's
    users(db, env, "set-email", "maria", "")  # no more mail
    listing = users(db, env, "list").stdout
    assert re.search(r"petra .*petra@coordination\.example\.eu .*en \(default\)", listing)
    assert re.search(r"maria .* ro \(default\)", listing)
    with using(db):
        assert accounts.get("petra").email == "petra@coordination.example.eu"
        assert accounts.get("maria") == accounts.User("maria", "partner", "RO")
        trail = [(r["action"], r["target"], r["detail"]) for r in accounts.audit()][:3]
    assert trail == [("email_set", "maria", "none"), ("language_set", "maria", "default"),
                     ("email_set", "petra", "petra@coordination.example.eu")]


def test_a_version_2_accounts_file_gains_addresses_and_languages(tmp_path):
    db = tmp_path / "mvh.duckdb"
    with sqlite3.connect(tmp_path / "accounts.sqlite") as con:  # as the monitor made it before
        con.executescript("""
            CREATE TABLE users (username TEXT PRIMARY KEY, role TEXT NOT NULL, country TEXT,
                organisation TEXT, password_hash TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
                created_at TEXT NOT NULL, changed_at TEXT NOT NULL,
                session_version INTEGER NOT NULL DEFAULT 0);
            INSERT INTO users VALUES ('vera', 'partner', 'BG', NULL, 'x', 1, '2023-01-01', '2023-01-01', 4);
            PRAGMA user_version = 2;
        """)
    with using(db):
        assert accounts.reachable() == []
        accounts.set_email("vera", "vera@wcif.example.bg")
        [vera] = accounts.reachable()
    assert (vera.email, vera.lang, vera.session) == ("vera@wcif.example.bg", None, 4)
    with sqlite3.connect(tmp_path / "accounts.sqlite") as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == accounts.SCHEMA_VERSION == 3


def users(db, env: dict, *args: str, check: bool = True):
    env = {**os.environ, **env, "MVH_DB": str(db), "COLUMNS": "200"}  # the whole table
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "users", *args], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120)
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


