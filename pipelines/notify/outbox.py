"""Send what is due (due.py), each message once ever, whoever sends it.

Every message is claimed in accounts.sqlite (mail_sent, its key the primary key) before it goes
out, and marked sent as soon as the mail server took it: two senders at once (the server's
workers, `mvh remind` from cron) cannot both send it, and no later run sends it again. A message
the server refused (its recipient, its content) is released, to be tried at the next run; so are
the messages left when the server cannot be reached. A run that sent something is audited.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.access import accounts
from pipelines.declaration.registry import Registry
from pipelines.notify import due, smtp
from pipelines.store import db


@dataclass
class Run:
    """A run's messages (due and not sent before), what became of each, and why it stopped."""

    mails: list[due.Mail]
    status: dict[str, str] = field(default_factory=dict)  # by key: sent, refused: ..., claimed
    problem: str | None = None  # e-mail not configured, or the server could not be used

    @property
    def sent(self) -> list[due.Mail]:
        return [m for m in self.mails if self.status.get(m.key) == "sent"]


def pending(registry: Registry, database: Path | str | None = None,
            today: dt.date | None = None) -> list[due.Mail]:
    """The messages due today that were never sent. None without a database or anyone to write to."""
    people = accounts.reachable(database)
    if not people:
        return []
    try:
        con = db.connect(database)
    except db.NoDatabase:
        return []
    with closing(con):
        mails = due.due(con, registry, people, today or dt.date.today(), database)
    with accounts.connect(database) as con:
        sent = {row[0] for row in con.execute(
            "SELECT key FROM mail_sent WHERE key IN (SELECT value FROM json_each(?))",
            [json.dumps([m.key for m in mails])])}
    return [m for m in mails if m.key not in sent]


def send_due(registry: Registry, database: Path | str | None = None, today: dt.date | None = None,
             dry_run: bool = False, actor: str = "server") -> Run:
    """Send the messages due today (with dry_run, or when e-mail is not configured, only list
    them); audit the run when it sent something."""
    run = Run(pending(registry, database, today))
    ready, why = smtp.configured()
    if dry_run or not run.mails:
        return run
    if not ready:
        run.problem = why
        return run
    try:
        with smtp.Connection() as connection:
            for mail in run.mails:
                run.status[mail.key] = _send(mail, connection, database)
    except smtp.MailError as exc:
        run.problem = str(exc)
    if run.sent:
        kinds = Counter(m.kind for m in run.sent)
        accounts.record("mail_sent", actor, detail=f"{len(run.sent)} message(s): "
                        + ", ".join(f"{n} {kind}" for kind, n in kinds.items()), database=database)
    return run


def _send(mail: due.Mail, connection: smtp.Connection, database: Path | str | None) -> str:
    """One message: claimed, sent, marked sent; released when it did not go."""
    with accounts.connect(database) as con:
        claimed = con.execute("INSERT INTO mail_sent (key, recipient, subject, claimed_at) "
                              "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                              [mail.key, mail.user.email, mail.subject, _now()]).rowcount
    if not claimed:
        return "claimed"  # another sender has it
    try:
        connection.send(mail.user.email, mail.subject, mail.text)
    except smtp.Refused as exc:
        _release(mail, database)
        return f"refused: {exc}"
    except BaseException:
        _release(mail, database)
        raise
    with accounts.connect(database) as con:
        con.execute("UPDATE mail_sent SET at = ? WHERE key = ?", [_now(), mail.key])
    return "sent"


def _release(mail: due.Mail, database: Path | str | None) -> None:
    with accounts.connect(database) as con:
        con.execute("DELETE FROM mail_sent WHERE key = ?", [mail.key])


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
