"""The `mvh` command: template, demo data, check, ingest, KPIs and the dashboard."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from pipelines import db, registry

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
console = Console()
DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: $MVH_DB or data/processed/mvh.duckdb)."),
]


def _registry() -> registry.Registry:
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
) -> None:
    """Write the blank quarterly workbook for a country and quarter."""
    from pipelines.template import write

    reg = _registry()
    output = output or Path(f"MVH_{country.upper()}_{quarter}.xlsx")
    try:
        write(reg, country.upper(), quarter.upper(), output, lang)
    except (KeyError, ValueError) as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
    console.print(f"wrote {output}")


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
    file: Annotated[Path, typer.Argument(help="The workbook to check.", exists=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check a workbook and print its findings, without touching the database."""
    from pipelines import read, validate

    reg = _registry()
    book = read.read(file, reg)
    found = validate.validate([book], reg)[book.sha256]
    if as_json:
        print(
            json.dumps(
                {
                    "file": str(file),
                    "sha256": book.sha256,
                    "country": book.country,
                    "quarter": book.quarter,
                    "findings": [f.as_dict() for f in found],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for f in found:
            console.print(f"{f.severity:<8} {f.where():<22} {f.message}", highlight=False)
        console.print(f"{file.name}: {len(found)} finding(s)")
    raise typer.Exit(1 if any(f.severity == "error" for f in found) else 0)


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: data/raw).")
    ] = None,
    database: DbOption = None,
    uploaded_by: Annotated[str | None, typer.Option(help="Who uploaded the files.")] = None,
) -> None:
    """Validate workbooks and load the good ones; print one line per file."""
    from pipelines.ingest import ingest as run

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
    outcomes = run(paths or [db.DEFAULT_RAW], reg, database, uploaded_by, progress=show)
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
    raise typer.Exit(1 if counts["rejected"] else 0)


@app.command()
def kpis(
    as_of: Annotated[
        str | None, typer.Option(help="Quarter, e.g. 2023-Q4 (default: latest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database: DbOption = None,
) -> None:
    """Every KPI overall and per country: value, target, % of target, plan and status."""
    from pipelines import kpis as k

    reg = _registry()
    try:
        con = db.connect(database)
    except db.NoDatabase as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        quarter = (as_of or k.latest_quarter(con, reg)).upper()
        frame = k.compute(con, reg, quarter)
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
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8050,
    debug: Annotated[bool, typer.Option(help="Reload on code changes.")] = False,
    database: DbOption = None,
) -> None:
    """Serve the dashboard (http://127.0.0.1:8050 by default)."""
    import os

    if database:
        os.environ["MVH_DB"] = str(database)
    from dashboard.app import create_app

    console.print(f"dashboard on http://{host}:{port}  (database {db.path()})")
    create_app().run(host=host, port=port, debug=debug)


if __name__ == "__main__":
    app()
