"""`mvh --help` and the refusal of a file that is no workbook start without the heavy libraries.

Nothing is timed here (bench/startup.py measures the start-up against its targets); what is
tested is what makes it fast: neither command imports pandas, DuckDB, great-expectations or the
accounts' web stack, which a command imports only when it runs and needs them.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest

from pipelines.intake import container
from tests.conftest import ROOT

HEAVY = ["pandas", "duckdb", "great_expectations", "flask", "werkzeug", "limits"]
# runs `mvh ARGS...` in this interpreter, then tells its exit code and the heavy modules imported
PROBE = """
import json, runpy, sys
sys.argv = ["mvh", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("pipelines.cli", run_name="__main__", alter_sys=True)
except SystemExit as stop:
    code = stop.code or 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print("\\nPROBE " + json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
""".replace("HEAVY", repr(HEAVY))


def probe(*args: str) -> tuple[int, list[str], str]:
    """(exit code, heavy modules imported, stdout) of `mvh ARGS...`."""
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    told = [line for line in result.stderr.splitlines() if line.startswith("PROBE ")]
    assert told, result.stderr
    report = json.loads(told[-1].removeprefix("PROBE "))
    return report["code"], report["heavy"], result.stdout


def test_help_imports_no_heavy_library():
    code, heavy, out = probe("--help")
    assert code == 0 and "Usage:" in out and "check" in out
    assert heavy == [], f"`mvh --help` imports {heavy}: import them inside the commands that use them"


@pytest.mark.parametrize("command", [["users", "--help"], ["kpis", "--help"]])
def test_a_commands_help_imports_no_heavy_library(command):
    code, heavy, _ = probe(*command)
    assert code == 0 and heavy == [], f"`mvh {' '.join(command)}` imports {heavy}"


def test_an_empty_file_is_refused_without_heavy_libraries(tmp_path):
    empty = tmp_path / "EMPTY.xlsx"
    empty.write_bytes(b"")
    code, heavy, out = probe("check", str(empty))
    assert code == 1 and "The file is empty." in out and "EMPTY.xlsx: 1 finding(s)" in out
    assert heavy == [], f"`mvh check` of an empty file imports {heavy} before refusing it"


def test_a_pdf_is_refused_without_heavy_libraries(tmp_path):
    pdf = tmp_path / "report.xlsx"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")
    code, heavy, out = probe("check", str(pdf), "--json")
    assert code == 1 and [f["rule"] for f in json.loads(out)["findings"]] == ["not_xlsx"]
    assert heavy == []


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("report.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "rule"), [
    (b"", "empty"), (b"%PDF-1.7\n", "not_xlsx"), (container.OLE2 + bytes(600), "legacy_xls"),
    (_zip()[:-30], "damaged"), (b"x" * 2048, "too_large"), (_zip(), None)],
    ids=["empty", "pdf", "xls", "damaged", "too_large", "zip"])  # a zip's bytes hold the time: not an id
def test_the_early_refusal_is_that_of_the_full_check(tmp_path, data, rule):
    """container.check_file, told by the size and the first and last bytes, refuses a file as
    `check` does; a zip is left to `check` (in the sandbox)."""
    path = tmp_path / "file.xlsx"
    path.write_bytes(data)
    early = container.check_file(path, max_bytes=1024)
    assert [f.rule for f in early] == ([rule] if rule else [])
    if rule:
        assert early == container.check(data, max_bytes=1024)
