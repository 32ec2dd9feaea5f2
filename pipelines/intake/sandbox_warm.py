"""Imported once by the sandbox's fork server (pipelines/intake/sandbox.py): what every child needs.
great-expectations is imported here, once. In a server (`sandbox.warm()` sets MVH_SANDBOX_WARM)
a blank template is also read, validated and marked once, so that a child forked from it
answers its first call as fast as its hundredth; a command that checks one file skips that."""

import os
import tempfile
from pathlib import Path

import great_expectations  # noqa: F401 - seconds to import: once, here

from pipelines.declaration import registry, template
from pipelines.intake import annotate, read, validate

os.environ["RUST_BACKTRACE"] = "0"  # a reader's abort is answered; its backtrace helps nobody


def _warm() -> None:
    reg = registry.get()
    with tempfile.TemporaryDirectory() as folder:
        blank = Path(folder) / "blank.xlsx"
        template.build(reg, reg.countries[0].code, reg.quarters[0]).save(blank)
        book = read.read(blank, reg)
        found = validate.validate([book], reg)[book.sha256]
        annotate.write(blank, Path(folder) / "marked.xlsx", found, "en", reg)


if os.environ.get("MVH_SANDBOX_WARM") == "1":
    _warm()
