"""Drive the Dash app without a browser: log in, render a page or fire any callback through
Flask's test client, as the browser would (used by the dashboard tests and bench/)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from pipelines.access import accounts
from pipelines.declaration import registry

PAGES_OUTPUT = "_pages_content.children"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(command: list[str], env: dict, probe: str, cwd: Path):
    """A server process for as long as the block runs, once `probe` (a URL) answers; its output
    goes to a temporary file (a pipe nobody reads would fill up and stall it)."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(probe, timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.25)
        else:
            proc.kill()
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{command[2]} did not start:\n{log.read().decode()[-3000:]}")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


PASSWORD = "a long test password"
ACCOUNTS = {"manager": ("manager", None, None), "admin": ("admin", None, None),
            "partner-ro": ("partner", "RO", None),
            "partner-bg": ("partner", "BG", "Workshop for Civic Initiatives Foundation")}


def add_accounts(db: Path) -> None:
    """The test accounts (ACCOUNTS, all with PASSWORD) beside a database."""
    with using(db):
        reg = registry.get()
        for username, (role, country, organisation) in ACCOUNTS.items():
            if accounts.get(username) is None:
                accounts.add(username, role, PASSWORD, country, reg, organisation)


@contextlib.contextmanager
def using(db: Path):
    """$MVH_DB set to `db` for the block: the database, accounts and files the code uses."""
    before = os.environ.get("MVH_DB")
    os.environ["MVH_DB"] = str(db)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MVH_DB", None)
        else:
            os.environ["MVH_DB"] = before


def login(client, username: str = "manager", password: str = PASSWORD):
    """Log a Flask test client in through the login form, as a browser would; afterwards it sends
    the CSRF header Dash's renderer sends. Returns the login response."""
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token})
    cookie = client.get_cookie("_csrf_token") or (client.get("/") and client.get_cookie("_csrf_token"))
    if cookie:
        client.environ_base["HTTP_X_CSRFTOKEN"] = cookie.value
    return response


def client_at(app, address: str):
    """A Flask test client whose requests come from `address`."""
    client = app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def dependencies(client) -> list[dict]:
    """Every callback the app declares, as the browser receives them."""
    return client.get("/_dash-dependencies").get_json()


def key(ident: str | dict) -> str:
    """A component id as Dash writes it in callback requests."""
    return ident if isinstance(ident, str) else json.dumps(ident, sort_keys=True,
                                                           separators=(",", ":"))


def _concrete(ident: str, match: dict | None) -> str | dict:
    """An id of a callback declaration, with its MATCH wildcards filled in from `match`."""
    if not ident.startswith("{"):
        return ident
    pattern = json.loads(ident)
    return {k: (match or {})[k] if v == ["MATCH"] else v for k, v in pattern.items()}


def _outputs(spec: dict, match: dict | None) -> list[dict] | dict:
    text = spec["output"]
    parts = text[2:-2].split("...") if text.startswith("..") else [text]
    outputs = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        outputs.append({"id": _concrete(ident, match), "property": prop.split("@")[0]})
    return outputs if text.startswith("..") else outputs[0]


def fire(client, spec: dict, inputs: list, state: list = (), match: dict | None = None,
         changed: int = 0):
    """POST one callback: `inputs` and `state` are the values in the declared order; the input
    at index `changed` is the one that triggered it. Returns the Flask response."""
    def props(declared, values):
        return [{"id": _concrete(d["id"], match), "property": d["property"], "value": v}
                for d, v in zip(declared, values, strict=True)]

    given = props(spec["inputs"], inputs)
    trigger = given[changed]
    return client.post("/_dash-update-component", json={
        "output": spec["output"], "outputs": _outputs(spec, match), "inputs": given,
        "state": props(spec["state"], list(state)),
        "changedPropIds": [f"{key(trigger['id'])}.{trigger['property']}"]})


def pages_spec(specs: list[dict]) -> dict:
    return next(s for s in specs if PAGES_OUTPUT in s["output"])


def render(client, path: str, search: str = ""):
    """The response of Dash's page callback for a URL: what the page shows, as JSON."""
    return fire(client, pages_spec(dependencies(client)), [path, search])


def text(response) -> str:
    """A response's JSON as text, non-ASCII kept, to look for what a page shows."""
    return json.dumps(response.get_json(), ensure_ascii=False)


def ids(tree) -> list:
    """Every component id in a rendered tree (a response's JSON)."""
    found = []
    if isinstance(tree, dict):
        if "id" in tree.get("props", {}):
            found.append(tree["props"]["id"])
        for value in tree.values():
            found += ids(value)
    elif isinstance(tree, list):
        for value in tree:
            found += ids(value)
    return found
