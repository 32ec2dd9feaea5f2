"""Shared fixtures: the registry, demo workbooks, an ingested database, a served dashboard."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import demo_data, ingest
from pipelines.declaration import registry
from tests.dash_client import PASSWORD, add_accounts, free_port, running

ROOT = Path(__file__).resolve().parent.parent
# Sessions signed with a key of the test run, not one written into data/processed.
os.environ.setdefault("MVH_SECRET_KEY", os.urandom(16).hex())
# the participant key of the tests (never the user's ~/.config/mvh/participant.key); `mvh` run as
# a subprocess inherits it
os.environ["MVH_PARTICIPANT_KEY"] = "test-participant-key-not-a-secret"
os.environ.pop("MVH_PARTICIPANT_KEY_FILE", None)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
# Debian's Chromium, headless, quiet: no sandbox (root), no GPU, no calls home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def need(tool: str | None, what: str) -> str:
    """Skip when a system tool is missing, except in CI, where it must be there."""
    if tool and Path(tool).exists():
        return tool
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI; .ci/run installs it with `make system-deps`")
    pytest.skip(f"{what} is not installed (run `make system-deps`)")


@pytest.fixture(scope="session")
def reg() -> registry.Registry:
    return registry.get()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory, reg) -> Path:
    """The demo workbooks of seed 0, written once per test run."""
    out = tmp_path_factory.mktemp("raw")
    demo_data.generate(reg, out, seed=0)
    return out


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, reg, demo_dir):
    """The corpus of bad and hostile workbooks (tests/corpus/build.py), built once per run:
    (its folder, its cases by id)."""
    from tests.corpus.build import build

    soffice = SOFFICE if SOFFICE and Path(SOFFICE).exists() else None
    folder = tmp_path_factory.mktemp("corpus")
    return folder, {c.id: c for c in build(folder, reg, demo_dir, soffice=soffice)}


@pytest.fixture(scope="session")
def app():
    """The Dash app, one per test run: Dash hands the callbacks declared with @callback to the
    first app of a process only."""
    from dashboard.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory, reg, demo_dir) -> Path:
    """A database with every demo workbook ingested. Tests must not write to it."""
    path = tmp_path_factory.mktemp("db") / "mvh.duckdb"
    outcomes = ingest.ingest([demo_dir], reg, path)
    assert [o.status for o in outcomes] == ["accepted"] * len(outcomes)
    add_accounts(path)
    return path




@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    """A database location with the test accounts beside it, set as $MVH_DB for the test."""
    path = tmp_path / "mvh.duckdb"
    monkeypatch.setenv("MVH_DB", str(path))
    add_accounts(path)
    return path


@pytest.fixture
def db_path(tmp_path) -> Path:
    """A fresh, empty database location for a test that writes."""
    return tmp_path / "processed" / "mvh.duckdb"


def mvh(*args: str, db: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run the `mvh` command as a user would."""
    env = {**os.environ, **({"MVH_DB": str(db)} if db else {})}
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"mvh {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@functools.cache
def expected(db: Path, as_of: str) -> dict[tuple[str, str | None], dict]:
    """`mvh kpis --json` as of a quarter, by (KPI id, country or None): what the pages must show."""
    report = json.loads(mvh("kpis", "--json", "--as-of", as_of, db=db).stdout)
    return {(k["id"], k["country"]): k for k in report["kpis"]}


@contextlib.contextmanager
def served(db: Path):
    """`mvh serve` on a database and a free port, for as long as the block runs; yields its URL."""
    port = free_port()
    add_accounts(db)
    url = f"http://127.0.0.1:{port}"
    with running([sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port)],
                 {**os.environ, "MVH_DB": str(db)}, url, ROOT):
        yield url


@pytest.fixture(scope="session")
def dashboard_url(demo_db) -> str:
    """The dashboard served by `mvh serve` on the demo database."""
    with served(demo_db) as url:
        yield url


# A page is drawn when its heading is there and every chart of it has its SVG.
DRAWN = ("document.querySelector('#_pages_content h1') && "
         "[...document.querySelectorAll('#_pages_content .js-plotly-plot')]"
         ".every(g => g.querySelector('.main-svg'))")


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    need(CHROMIUM, "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def sign_in(pg, url: str, username: str = "manager") -> None:
    """Log a browser page in through the login form."""
    pg.goto(f"{url}/login")
    pg.fill("#username", username)
    pg.fill("#password", PASSWORD)
    pg.click(".login-form button[type=submit]")
    pg.wait_for_selector("#account-name")


def _watched(browser, url: str, width: int, height: int, mobile: bool):
    """A fresh page, logged in as the manager, that records console errors; the test fails if any
    appear."""
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=mobile)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(pg, url)
    yield pg
    context.close()
    assert errors == [], f"errors in the browser console: {errors}"


@pytest.fixture
def page(browser, dashboard_url):
    """A laptop-sized page (1280 px) on the demo dashboard, logged in as the manager; the test
    fails on any error in the browser console."""
    yield from _watched(browser, dashboard_url, 1280, 900, mobile=False)


@pytest.fixture
def phone(browser, dashboard_url):
    """A phone-sized page (390 px) on the demo dashboard, logged in as the manager; the test fails
    on any error in the browser console."""
    yield from _watched(browser, dashboard_url, 390, 844, mobile=True)


@pytest.fixture
def data_folder(tmp_path, demo_db, monkeypatch):
    """The demo database and its accounts on a tmpfs of their own (root only: chmod does not
    stop root), to make it read-only or full for real."""
    folder = tmp_path / "data"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"this machine does not let the tests mount a tmpfs: {mounted.stderr.strip()}")
    try:
        shutil.copy(demo_db, folder / "mvh.duckdb")
        monkeypatch.setenv("MVH_DB", str(folder / "mvh.duckdb"))
        add_accounts(folder / "mvh.duckdb")
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def remount(folder, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=True)


def fill(folder) -> None:
    """Write a file until the disk is full."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    for chunk in (1 << 20, 4096, 1):
        try:
            while True:
                os.write(fd, b"\0" * chunk)
        except OSError:
            pass
    os.close(fd)
