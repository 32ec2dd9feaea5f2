"""Rejected files: their findings, who sent them and, for workbooks, their bytes, by their hash.

A report is filed under the country and quarter the file is for, so that the country's pages
show it, except when the sender may not report for that country: such a file is filed under
its sender only (`country` empty, the country it named in `named_country`), so that nothing of
it reaches the other country's pages; managers see it among the refused uploads.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.intake.findings import Finding
from pipelines.store import db, redact


@dataclass(frozen=True)
class Sender:
    """Who sent a file: the account, the one country it may report for (None: any) and, for a
    partner of a country reporting per organisation, its organisation (None: any)."""

    by: str | None = None
    country: str | None = None
    organisation: str | None = None


def file(path: Path, sha: str, found: list[Finding], db_path: Path | str | None, sender: Sender,
         country: str = "", quarter: str = "", register: bool = False,
         register_sheet: str | None = None, organisation: str = "") -> Path:
    """Keep a rejected file's findings and, except for a register file (it holds participant
    codes), its bytes with any register sheet emptied; returns the report's path."""
    folder = db.quarantine_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    if not register:
        kept = folder / f"{sha}{path.suffix.lower()}"
        if not kept.exists():
            redact.keep(path, kept, register_sheet)
    misaddressed = bool(sender.country and country and country != sender.country)
    report = {
        "file_name": path.name,
        "sha256": sha,
        "country": "" if misaddressed else country,  # from the cover, stamp or name; "" if unknown
        "quarter": quarter,
        "organisation": organisation,              # the partner organisation the cover names
        "named_country": country,
        "uploaded_by": sender.by,
        "uploader_country": sender.country,
        "rejected_at": dt.datetime.now().isoformat(timespec="seconds"),
        "findings": [f.as_dict() for f in found],
        **({"register": True} if register else {}),
    }
    target = folder / f"{sha}.json"
    target.write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    return target
