"""`mvh remind`: e-mail the notices, reminders and digests that are due (pipelines/notify), for
cron or by hand; and the same at once after `mvh ingest` and a decision, when e-mail is configured.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipelines import cli_accounts

console = Console()


def remind(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what is due: send and record "
                                          "nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    today: Annotated[str | None, typer.Option(help="Work out what is due as on this day, YYYY-MM-DD "
                                              "(default: today).")] = None,
    database: Annotated[Path | None, typer.Option("--db", help="DuckDB file (default: $MVH_DB).")] = None,
) -> None:
    """E-mail what is due: notices of loads and decisions, reminders before a quarter's workbook
    is due, overdue notices, the managers' weekly digest. Each message is sent once, ever. Exits 1
    when some could not be sent, 2 when e-mail is not configured and something was due."""
    from rich.table import Table

    from pipelines.declaration import registry
    from pipelines.notify import outbox, smtp

    if database:
        os.environ["MVH_DB"] = str(database)  # the accounts and the audit beside it, too
    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        console.print(f"[red]--today {today!r} is not a date: write it as YYYY-MM-DD.[/red]")
        raise typer.Exit(2) from None
    run = outbox.send_due(registry.get(), database, day, dry_run, cli_accounts.actor())
    ready, mail = smtp.configured()
    status = {m.key: run.status.get(m.key, "listed" if dry_run else "not sent") for m in run.mails}
    if as_json:
        print(json.dumps({"today": day.isoformat(), "dry_run": dry_run, "configured": ready, "mail": mail,
                          "problem": run.problem, "messages": [
                              {"recipient": m.user.username, "address": m.user.email, "lang": m.lang,
                               "kind": m.kind, "subject": m.subject, "key": m.key, "status": status[m.key]}
                              for m in run.mails]}, ensure_ascii=False, indent=2))
    else:
        table = Table("recipient", "language", "kind", "subject", "status",
                      title=f"Due on {day}" + (" (dry run: nothing sent)" if dry_run else ""))
        for m in run.mails:
            table.add_row(f"{m.user.username} <{m.user.email}>", m.lang, m.kind, m.subject, status[m.key])
        console.print(table if run.mails else f"Nothing is due on {day}.", highlight=False)
        console.print(run.problem or mail, highlight=False, soft_wrap=True)
    if run.problem:
        raise typer.Exit(1 if ready else 2)
    raise typer.Exit(1 if any(s.startswith("refused") for s in status.values()) else 0)


def send_now(database: Path | None) -> None:
    """After `mvh ingest` or a decision, when e-mail is configured: send what is due at once (a
    server's mailer would send it at its next daily run only)."""
    from pipelines.declaration import registry
    from pipelines.notify import outbox, smtp

    if not smtp.configured()[0]:
        return
    run = outbox.send_due(registry.get(), database, actor=cli_accounts.actor())
    if run.sent or run.problem:
        console.print(f"e-mailed {len(run.sent)} message(s)" + (f"; {run.problem}" if run.problem else ""),
                      highlight=False, soft_wrap=True)
