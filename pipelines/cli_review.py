"""`mvh status`, `mvh approve`, `mvh return` and `mvh reopen`: the review state of each
submission's key (pipelines/access/approvals.py) and the managers' decisions on it.

A decision names a country and quarter; where the country reports per partner organisation it
applies to every organisation's current version of that quarter unless --organisation names one.
"""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipelines import cli_accounts, cli_notify

console = Console()
Country = Annotated[str, typer.Option(help="Country code, e.g. BG.")]
Quarter = Annotated[str, typer.Option(help="Quarter, e.g. 2022-Q3.")]
Organisation = Annotated[str | None, typer.Option(
    help="One partner organisation, where the country reports per organisation (default: all).")]
Database = Annotated[Path | None, typer.Option("--db", help="DuckDB file (default: $MVH_DB).")]


def _fail(message: str, code: int = 2):
    console.print(f"[red]{message}[/red]", highlight=False)
    raise typer.Exit(code)


def _opened(database: Path | None):
    from pipelines.store import db

    try:
        return db.connect(database)
    except db.NoDatabase as exc:
        _fail(str(exc))


def status(
    as_of: Annotated[str | None, typer.Option(help="Up to this quarter (default: the last).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database: Database = None,
) -> None:
    """The review state of every country's quarter: expected, submitted, returned, approved or
    reopened, with the last decision."""
    from rich.table import Table

    from pipelines.access import approvals
    from pipelines.declaration import registry

    reg = registry.get()
    try:
        quarter = reg.quarter(as_of, "as-of quarter") if as_of else reg.quarters[-1]
    except ValueError as exc:
        _fail(str(exc))
    with closing(_opened(database)) as con:
        rows = approvals.table(con, reg, quarter, database)
    if as_json:
        print(json.dumps({"as_of": quarter, "states": rows}, ensure_ascii=False, indent=2))
        return
    table = Table("country", "quarter", "organisation", "version", "state", "by", "at", "reason",
                  title=f"Review state up to {quarter}")
    for r in rows:
        table.add_row(r["country"], r["quarter"], r["organisation"], str(r["version"] or ""), r["state"],
                      r["decided_actor"] or "", (r["decided_at"] or "")[:16], r["decided_reason"] or "")
    console.print(table)


def _decide(action: str, country: str, quarter: str, organisation: str | None, reason: str | None,
            database: Path | None) -> None:
    from pipelines.access import approvals
    from pipelines.declaration import registry

    reg = registry.get()
    try:
        country, quarter = reg.country(country.upper()).code, reg.quarter(quarter)
    except (KeyError, ValueError) as exc:
        _fail(str(exc).strip("'\""))
    with closing(_opened(database)) as con:
        versions = approvals.current(con, country, quarter)
    if organisation:
        named = organisation.strip().casefold()
        versions = {k: v for k, v in versions.items() if k.reporter.casefold() == named}
    if not versions:
        whose = f" from {organisation}" if organisation else ""
        _fail(f"No accepted workbook for {country} {quarter}{whose}: nothing to decide.")
    try:
        for key, version in sorted(versions.items(), key=lambda item: item[0].reporter):
            now = approvals.decide(action, key, version, cli_accounts.actor(), reason, database)
            console.print(f"{key} v{version}: {now}", highlight=False)
    except approvals.DecisionError as exc:
        _fail(str(exc))
    cli_notify.send_now(database)


def approve(country: Country, quarter: Quarter, organisation: Organisation = None,
            comment: Annotated[str | None, typer.Option(help="A note kept with the approval.")] = None,
            database: Database = None) -> None:
    """Approve a country's quarter: its current version counts as approved and is locked (new
    uploads for it are refused until it is reopened)."""
    _decide("approve", country, quarter, organisation, comment, database)


def return_(country: Country, quarter: Quarter,
            reason: Annotated[str, typer.Option(help="Why, for the partner.")],
            organisation: Organisation = None, database: Database = None) -> None:
    """Return a country's quarter to the partner with a reason; its next version is submitted again."""
    _decide("return", country, quarter, organisation, reason, database)


def reopen(country: Country, quarter: Quarter,
           reason: Annotated[str, typer.Option(help="Why it is reopened.")],
           organisation: Organisation = None, database: Database = None) -> None:
    """Reopen an approved quarter with a reason: uploads for it are accepted again."""
    _decide("reopen", country, quarter, organisation, reason, database)
