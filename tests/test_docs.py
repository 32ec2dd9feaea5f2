"""The README's commands are the ones that exist, and CI runs the README's test command."""

from __future__ import annotations

import re

from pipelines.declaration.registry import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def test_readme_opens_with_make_run_and_make_test():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_make_target_named_in_the_readme_exists():
    targets = set(re.findall(r"^([a-z-]+):", MAKEFILE, flags=re.M))
    named = set(re.findall(r"`(?:make )?([a-z-]+)`", README.split("Make targets:")[1].split("\n\n")[0]))
    assert named and named <= targets
    assert {"help", "setup", "run", "test", "lint", "demo-data", "ingest", "template", "clean",
            "bench"} <= targets


def test_every_mvh_command_in_the_readme_exists():
    from typer.main import get_command

    from pipelines.cli import app

    commands = set(get_command(app).commands)
    used = set(re.findall(r"^mvh ([a-z-]+)", README, flags=re.M))
    assert used and used <= commands and commands <= used
