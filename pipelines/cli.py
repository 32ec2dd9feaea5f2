"""The `mvh` command: template, demo data, check, ingest, KPIs, the dashboard and its accounts."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from pipelines import cli_accounts, cli_notify, cli_review
from pipelines.store import db

# A command imports what it needs when it runs (pandas, DuckDB, great-expectations, the accounts'
# stack), so that `mvh --help` and the refusal of a file that is no workbook start at once
# (tests/test_startup.py checks what they import; bench/startup.py times them).
if TYPE_CHECKING:
    from pipelines.declaration import registry

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
app.add_typer(cli_accounts.users, name="users")
app.command("audit")(cli_accounts.audit)
app.command("status")(cli_review.status)
app.command("approve")(cli_review.approve)
app.command("return")(cli_review.return_)
app.command("reopen")(cli_review.reopen)
app.command("remind")(cli_notify.remind)
console = Console()
DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $MVH_DB or data/processed/mvh.duckdb)."),
]


def _open(database: Path | None):
    """The database, read-only; exit 2 with what to do when there is none yet."""

    try:
        return db.connect(database)
    except db.NoDatabase as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _use(database: Path | None) -> None:
    """Make --db the database of everything this command touches (accounts and audit too)."""
    if database:
        os.environ["MVH_DB"] = str(database)


def _registry() -> registry.Registry:
    from pipelines.declaration import registry

    try:
        return registry.get()
    except registry.RegistryError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@app.command()
def template(
    country: Annotated[str, typer.Option(help="Country code, e.g. BG.")],
    quarter: Annotated[str, typer.Option(help="Quarter, e.g. 2022-Q3.")],
    lang: Annotated[str | None, typer.Option(help="Language (default: the country's).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    organisation: Annotated[str | None, typer.Option(
        help="The partner organisation, where the country reports per organisation.")] = None,
    blank: Annotated[bool, typer.Option(
        "--blank", help="An empty template, even where the database has earlier reports.")] = False,
    database: DbOption = None,
) -> None:
    """Write the quarterly workbook for a country and quarter: with the country's councils and
    authorities as last reported when there is a database (update them, don't retype them),
    blank with --blank or without one."""
    from pipelines.declaration import template as workbook

    reg = _registry()
    output = output or Path(f"MVH_{country.upper()}_{quarter}.xlsx")
    try:
        wb = workbook.build(reg, country.upper(), quarter.upper(), lang)
        carried = {} if blank else _carried(reg, country.upper(), quarter.upper(), organisation, database)
        workbook.fill(wb, reg, lang or reg.country(country.upper()).language, {}, carried)
    except (KeyError, ValueError) as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    output.parent.mkdir(parents=True, exist_ok=True)
    wb.save(output)
    rows = ", ".join(f"{reg.sheet(s).label('en').lower()}: {len(r)}" for s, r in carried.items() if r)
    console.print(f"wrote {output}" + (f", carrying {rows} as last reported" if rows else ""),
                  highlight=False)


def _carried(reg, country: str, quarter: str, organisation: str | None, database: Path | None) -> dict:
    """The councils and authorities a template starts with (pipelines/marts/carried.py); none
    without a database."""
    from pipelines.marts import carried

    if not db.path(database).exists():
        return {}
    reporter = carried.reporter(reg, country, organisation)
    con = db.connect(database)
    try:
        return carried.entities(con, reg, country, quarter, reporter)
    finally:
        con.close()


@app.command("demo-data")
def demo_data(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder to write into.")] = db.DEFAULT_RAW,
) -> None:
    """Write a filled workbook per country and quarter of the project, as partners would."""
    from pipelines.demo_data import generate

    paths = generate(_registry(), out, seed)
    console.print(f"wrote {len(paths)} workbooks into {out}")


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The workbook.", exists=True, dir_okay=False)],
    lang: Annotated[str | None, typer.Option(help="Message language (default: the workbook's).")] = None,
    annotated: Annotated[Path | None, typer.Option(
        "-o", "--annotated", help="Where to write the annotated copy (default: FILE.checked.xlsx).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    database: DbOption = None,
) -> None:
    """Check a workbook: print its findings and write an annotated copy. The database is only read."""
    from pipelines.check import check as run

    reg = _registry()
    if lang and lang not in reg.languages:
        console.print(f"[red]unknown language {lang!r}; choose one of {', '.join(reg.languages)}[/red]")
        raise typer.Exit(2)
    result = run(file, reg, database, lang, annotated)
    rows = result.localised(reg)
    if as_json:
        print(json.dumps({"file": str(file), "sha256": result.book.sha256, "country": result.book.country,
                          "quarter": result.book.quarter, "lang": result.lang,
                          "annotated": str(result.annotated or ""), "findings": rows},
                         ensure_ascii=False, indent=2))
    else:
        for row in rows:
            where = "!".join(p for p in (row["sheet"], row["cell"]) if p) or "-"
            console.print(f"{row['severity']:<8} {where:<24} {row['message']} {row['fix']}",
                          highlight=False, soft_wrap=True)
        console.print(f"{file.name}: {len(rows)} finding(s)"
                      + (f"; annotated copy: {result.annotated}" if result.annotated else ""))
    raise typer.Exit(1 if any(r["severity"] == "error" for r in rows) else 0)


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: data/raw).")
    ] = None,
    database: DbOption = None,
    uploaded_by: Annotated[str | None, typer.Option(help="Who uploaded the files.")] = None,
) -> None:
    """Validate workbooks and load the good ones; print one line per file."""
    from rich.progress import track

    from pipelines.ingest import ingest as run

    _use(database)
    reg = _registry()
    started = time.perf_counter()
    show = (
        (
            lambda items: track(
                items, description="reading", console=Console(stderr=True), transient=True
            )
        )
        if sys.stderr.isatty()
        else (lambda items: items)
    )
    from pipelines import uploads
    from pipelines.access import accounts

    queued = uploads.drain(reg, database, timeout=None)  # web uploads left queued come first
    if queued:
        console.print(f"ingested {queued} queued upload(s) from the web first")
    outcomes = run(paths or [db.DEFAULT_RAW], reg, database, uploaded_by, progress=show)
    for outcome in outcomes:
        accounts.record_ingest(uploaded_by or cli_accounts.actor(), outcome.status, outcome.country,
                               outcome.quarter, outcome.version, outcome.path.name)
    for outcome in outcomes:
        console.print(outcome.line(), highlight=False, soft_wrap=True)
    counts = {
        s: sum(o.status == s for o in outcomes) for s in ("accepted", "rejected", "unchanged")
    }
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    console.print(
        f"{len(outcomes)} file(s): {summary} in {time.perf_counter() - started:.1f} s "
        f"-> {db.path(database)}"
    )
    cli_notify.send_now(database)
    raise typer.Exit(1 if counts["rejected"] else 0)


@app.command()
def kpis(
    as_of: Annotated[
        str | None, typer.Option(help="Quarter, e.g. 2023-Q4 (default: latest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    approved_only: Annotated[bool, typer.Option(
        "--approved-only", help="Count approved quarters only (`mvh status`).")] = False,
    database: DbOption = None,
) -> None:
    """Every KPI overall and per country: value, target, % of target, plan and status."""
    from rich.table import Table

    from pipelines.access import approvals
    from pipelines.marts import kpis as k

    reg = _registry()
    con = _open(database)
    try:
        quarter = (as_of or k.latest_quarter(con, reg)).upper()
        counted = approvals.approved_only(con, database) if approved_only else "current_submissions"
        frame = k.compute(con, reg, quarter, current=counted)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    finally:
        con.close()
    report = k.as_json(frame, quarter)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"KPIs as of {quarter}")
    for column in ("KPI", "country", "value", "target", "%", "planned", "status"):
        table.add_column(
            column, justify="left" if column in ("KPI", "country", "status") else "right"
        )
    for row in report["kpis"]:
        numbers = [_number(row[c]) for c in ("value", "target", "percent", "planned")]
        table.add_row(row["id"], row["country"] or "all", *numbers, row["status"].replace("_", " "))
    console.print(table)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


@app.command()
def history(
    country: Annotated[str, typer.Option(help="Country code, e.g. BG.")],
    quarter: Annotated[str, typer.Option(help="Quarter, e.g. 2022-Q3.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database: DbOption = None,
) -> None:
    """The versions of a country's quarter (per organisation where it reports per organisation): who,
    when, the cells that changed, the effect on each KPI."""
    from pipelines.marts import versions

    reg = _registry()
    country, quarter = country.upper(), quarter.upper()
    if country not in {c.code for c in reg.countries} or quarter not in reg.quarters:
        console.print(f"[red]{country} {quarter} is not a country and quarter of the project; countries: "
                      f"{', '.join(c.code for c in reg.countries)}, quarters {reg.quarters[0]} to "
                      f"{reg.quarters[-1]}[/red]")
        raise typer.Exit(2)
    con = _open(database)
    try:
        report = versions.report(con, reg, country, quarter)
    finally:
        con.close()
    if as_json:
        print(json.dumps({"country": country, "quarter": quarter, "versions": report},
                         ensure_ascii=False, indent=2, default=str))
        return
    if not report:
        console.print(f"No accepted workbook for {country} {quarter}.")
    for v in report:
        console.print(f"[bold]{v['reporter'] + ' ' if v['reporter'] else ''}v{v['version']}[/bold] "
                      f"{v['file_name']}  received {v['received_at']}"
                      f"  by {v['uploaded_by'] or 'unknown'}  sha256 {v['submission_id'][:12]}"
                      f"  {v['warnings']} warning(s)", highlight=False)
        for c in v["changed_cells"]:
            console.print(f"    {c['sheet']}!{c['cell']:<6} {c['field']}: {c['before']!r} -> {c['after']!r}",
                          highlight=False)
        for e in v["kpi_effect"]:
            if e["change"]:
                console.print(f"    {e['kpi']} ({e['country'] or 'all'}) as of {quarter}: "
                              f"{_number(e['before'])} -> {_number(e['after'])} ({e['change']:+,.0f})",
                              highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8050,
    debug: Annotated[bool, typer.Option(help="Reload on code changes.")] = False,
    database: DbOption = None,
) -> None:
    """Serve the dashboard (http://127.0.0.1:8050 by default)."""
    _use(database)
    if host in ("127.0.0.1", "localhost", "::1"):  # plain http on this machine only
        os.environ.setdefault("MVH_INSECURE_COOKIES", "1")
    from dashboard.app import create_app
    from pipelines import notify, uploads

    app_ = create_app()
    uploads.start_drainer(_registry())
    notify.start(_registry())
    console.print(f"dashboard on http://{host}:{port}  (database {db.path()})")
    app_.run(host=host, port=port, debug=debug)


@app.command()
def export(
    period: Annotated[
        str | None, typer.Option(help="Reporting period, e.g. 2022-Q1..2022-Q4.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Count submissions up to this quarter (default: period end).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="xlsx, or csv: a zip with one CSV per sheet.")
    ] = "xlsx",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    database: DbOption = None,
    snapshot: Annotated[
        str | None, typer.Option(help="Regenerate the pack of a stored snapshot (mvh snapshots).")
    ] = None,
    approved_only: Annotated[bool, typer.Option(
        "--approved-only", help="Count the quarters the coordination approved only (`mvh status`).")] = False,
    submitted: Annotated[bool, typer.Option(
        "--submitted", help="This pack is reported to the EU: lock the quarters it counts (approving "
        "the open ones) and list later corrections to them as revisions in the next packs.")] = False,
) -> None:
    """Write the EU reporting export pack; the data it uses is frozen as a snapshot."""
    from pipelines.access import accounts
    from pipelines.export import snapshot as snap
    from pipelines.export import write as export_write

    _use(database)
    reg = _registry()
    try:
        output, manifest = export_write.produce(database, reg, fmt, output, period, as_of, snapshot,
                                                approved_only, cli_accounts.actor() if submitted else None)
    except (ValueError, db.NoDatabase, snap.SnapshotError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    used = len(manifest["submissions"])
    accounts.record("export", cli_accounts.actor(), output.name, detail=f"period {manifest['period']}, "
                    f"as of {manifest['as_of']}, snapshot {manifest['id']}")
    console.print(
        f"wrote {output}: period {manifest['period']}, as of {manifest['as_of']}, {used} submission(s), "
        f"snapshot {manifest['id']}" + (", reported to the EU: its quarters are locked" if submitted else ""),
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def integrity(
    database: DbOption = None,
    deep: Annotated[bool, typer.Option(help="Also re-read every stored file and compare its rows.")] = False,
) -> None:
    """Check that the database is whole: each submission fully in or out, its bytes kept."""
    from pipelines.store import integrity as check_db
    from pipelines.store import writer

    _use(database)
    with writer.writing(database):  # a killed writer's committed work is published first
        pass
    con = _open(database)
    try:
        found = check_db.problems(con, _registry(), deep)
        (count,) = con.execute("SELECT count(*) FROM submissions").fetchone()
    finally:
        con.close()
    for problem in found:
        console.print(f"[red]{problem}[/red]", highlight=False)
    console.print(f"{count} submission(s): " + ("whole" if not found else f"{len(found)} problem(s)"))
    raise typer.Exit(1 if found else 0)


@app.command()
def snapshots(database: DbOption = None) -> None:
    """List the stored export snapshots: id, created at, period, as-of quarter, submissions."""
    from pipelines.export import snapshot as snap

    root = snap.directory(database)
    stored = snap.listing(root)
    for s in stored:
        console.print(
            f"{s['id']}  {s['created_at'].replace('T', ' ')}  {s['period']}  as of {s['as_of']}  "
            f"{s['submissions']} submission(s)",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"{len(stored)} snapshot(s) in {root}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    app()
