"""`mvh users …` and `mvh audit`: accounts of the dashboard and the audit trail.

Passwords are never command arguments (they would stay in the shell history and show in `ps`):
they are typed at a prompt, or read from $MVH_PASSWORD by scripts.
"""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer
from rich.console import Console

# the accounts' stack (werkzeug, limits, DuckDB) is imported by the commands that use it, not by
# every `mvh` command (pipelines/cli.py)
users = typer.Typer(help="Manage the dashboard's accounts: add, list, disable, enable, set-password, "
                         "set-email, set-lang, unlock.", no_args_is_help=True)
console = Console()
DEMO_USERS = "demo-logins.txt"


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def _password() -> str:
    if os.environ.get("MVH_PASSWORD"):
        return os.environ["MVH_PASSWORD"]
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat it", hide_input=True) != first:
        console.print("[red]The two passwords differ; nothing was changed.[/red]")
        raise typer.Exit(2)
    return first


def _done(action: str, username: str, detail: str | None = None) -> None:
    from pipelines.access import accounts

    accounts.record(action, actor(), username, detail=detail)
    console.print(f"{action.replace('_', ' ')}: {username}" + (f" ({detail})" if detail else ""))


def _fail(exc: Exception):
    console.print(f"[red]{exc}[/red]")
    raise typer.Exit(2) from None


@users.command("add")
def add(
    username: Annotated[str, typer.Argument(help="User name, e.g. maria.ionescu.")],
    role: Annotated[str, typer.Option(help="partner, manager or admin.")],
    country: Annotated[str | None, typer.Option(help="A partner's country code, e.g. RO.")] = None,
    organisation: Annotated[str | None, typer.Option(
        help="A partner's organisation, as indicators.yaml names it (required where the country "
             "reports per partner organisation).")] = None,
    email: Annotated[str | None, typer.Option(help="Where the monitor's notices and reminders go.")] = None,
    lang: Annotated[str | None, typer.Option(
        help="The language of its e-mail, e.g. bg (default: the country's, else en).")] = None,
) -> None:
    """Add an account; the password is asked for (or read from $MVH_PASSWORD)."""
    from pipelines.access import accounts
    from pipelines.declaration import registry

    try:
        user = accounts.add(username.lower(), role, _password(), country and country.upper(),
                            registry.get(), organisation, email=email, lang=lang)
    except accounts.AccountError as exc:
        _fail(exc)
    mail = f"e-mail {user.email} in {accounts.language(user.lang, user.country, registry.get())}"
    _done("account_added", user.username, ", ".join(filter(None, [
        f"{user.role} {user.bound_to}".strip(), mail if user.email else None])))


@users.command("list")
def list_() -> None:
    """List the accounts: role, country, e-mail and its language, active or not."""
    from rich.table import Table

    from pipelines.access import accounts
    from pipelines.declaration import registry

    reg = registry.get()
    table = Table("user", "role", "country", "organisation", "e-mail", "language", "active",
                  "created (UTC)", "changed (UTC)")
    for u in accounts.users():
        lang = u["lang"] or f"{accounts.language(None, u['country'], reg)} (default)"
        table.add_row(u["username"], u["role"], u["country"] or "", u["organisation"] or "",
                      u["mail"] or "", lang, "yes" if u["active"] else "no",
                      *(u[k][:16].replace("T", " ") for k in ("created_at", "changed_at")))
    (console if console.is_terminal else Console(width=1000)).print(table)  # piped: no address cut short


def _set_active(username: str, active: bool) -> None:
    from pipelines.access import accounts

    try:
        accounts.set_active(username, active)
    except accounts.AccountError as exc:
        _fail(exc)
    _done("account_enabled" if active else "account_disabled", username)


@users.command("disable")
def disable(username: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Disable an account: it can no longer log in and its sessions end (its audit rows stay)."""
    _set_active(username, False)


@users.command("enable")
def enable(username: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Enable a disabled account again."""
    _set_active(username, True)


@users.command("set-password")
def set_password(username: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Set a new password (asked for, or from $MVH_PASSWORD); ends its sessions and unlocks it."""
    from pipelines.access import accounts

    try:
        accounts.set_password(username, _password())
    except accounts.AccountError as exc:
        _fail(exc)
    _done("password_set", username, _unlocked(username))


@users.command("set-email")
def set_email(username: Annotated[str, typer.Argument(help="User name.")],
              email: Annotated[str, typer.Argument(help='The address; "" for none (no e-mail).')]) -> None:
    """Set where the monitor's notices and reminders to this account go."""
    from pipelines.access import accounts

    try:
        kept = accounts.set_email(username, email)
    except accounts.AccountError as exc:
        _fail(exc)
    _done("email_set", username, kept or "none")


@users.command("set-lang")
def set_lang(username: Annotated[str, typer.Argument(help="User name.")],
             lang: Annotated[str, typer.Argument(help='A language, e.g. bg; "" for the default.')]) -> None:
    """Set the language of this account's e-mail."""
    from pipelines.access import accounts
    from pipelines.declaration import registry

    try:
        kept = accounts.set_lang(username, lang, registry.get())
    except accounts.AccountError as exc:
        _fail(exc)
    _done("language_set", username, kept or "default")


@users.command("unlock")
def unlock(username: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Clear the failed logins counted against an account and its known addresses: it may log in."""
    from pipelines.access import accounts

    if not any(u["username"] == username for u in accounts.users()):
        _fail(accounts.AccountError(f"No user {username}: see `mvh users list`."))
    _done("account_unlocked", username, _unlocked(username))


def _unlocked(username: str) -> str:
    from pipelines.access import login_counters

    cleared = login_counters.unlock(username)
    return f"{cleared} failed-login counter{'s' if cleared != 1 else ''} cleared"


@users.command("demo")
def demo() -> None:
    """On a project without accounts, add demo accounts (a manager, an admin, one partner per
    country, or per partner organisation where the country reports per organisation) with random
    passwords, written to demo-logins.txt beside the database."""
    import secrets

    from pipelines.access import accounts
    from pipelines.declaration import registry
    from pipelines.store import db

    listing = db.path().parent / DEMO_USERS
    reg = registry.get()
    if not accounts.users():
        people = [("manager", "manager", None, None), ("admin", "admin", None, None)] + [
            (f"partner-{c.code.lower()}" + (f"-{n}" if n > 1 else ""), "partner", c.code, organisation)
            for c in reg.countries
            for n, organisation in enumerate(c.partners if reg.per_partner(c.code) else [None], start=1)]
        lines = []
        for username, role, country, organisation in people:
            password = secrets.token_urlsafe(12)
            accounts.add(username, role, password, country, reg, organisation)
            accounts.record("account_added", actor(), username, detail=f"{role} (demo)")
            lines.append(f"{username}\t{password}\t{role}\t{country or ''}\t{organisation or ''}")
        fd = os.open(listing, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("user\tpassword\trole\tcountry\torganisation\n" + "\n".join(lines) + "\n")
    if not listing.exists():
        console.print("Accounts exist already: log in with yours (`mvh users list`).")
        return
    manager = next(line.split("\t") for line in listing.read_text().splitlines()
                   if line.startswith("manager\t"))
    console.print(f"Log in as [bold]manager[/bold] with the password [bold]{manager[1]}[/bold]; "
                  f"the other demo accounts (admin, one partner per country) are in {listing}.",
                  highlight=False, soft_wrap=True)


def audit(
    limit: Annotated[int, typer.Option(help="How many rows, newest first.")] = 50,
    user: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. login_failed.")] = None,
) -> None:
    """Show the audit trail: who uploaded, corrected, exported, logged in, changed an account."""
    from rich.table import Table

    from pipelines.access import accounts

    table = Table("when (UTC)", "who", "action", "what", "from", "detail")
    for row in accounts.audit(limit, user, action):
        table.add_row(row["at"], row["actor"], row["action"], row["target"] or "",
                      row["address"] or "", row["detail"] or "")
    console.print(table)
