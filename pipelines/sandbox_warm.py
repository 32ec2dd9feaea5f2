"""Imported once by the sandbox's fork server (pipelines/sandbox.py): what every child needs,
loaded and run once on a blank template (read, validated, marked), so that a child forked
from it answers its first call as fast as its hundredth."""

import os
import tempfile
from pathlib import Path

from pipelines import annotate, read, registry, template, validate

os.environ["RUST_BACKTRACE"] = "0"  # a reader's abort is answered; its backtrace helps nobody


def _warm() -> None:
    reg = registry.get()
    with tempfile.TemporaryDirectory() as folder:
        blank = Path(folder) / "blank.xlsx"
        template.build(reg, reg.countries[0].code, reg.quarters[0]).save(blank)
        book = read.read(blank, reg)
        found = validate.validate([book], reg)[book.sha256]
        annotate.write(blank, Path(folder) / "marked.xlsx", found, "en", reg)


_warm()
