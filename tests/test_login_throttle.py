"""Failed logins throttled per address and per account, with back-off, counted once each by any
number of threads and processes, never more password checks than the limit; `mvh users unlock`
and `set-password` clear the counters."""

from __future__ import annotations

import http.cookiejar
import multiprocessing
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bench.upload_load import production_server
from pipelines.access import accounts
from pipelines.access.login_counters import AccountsStorage
from tests.conftest import mvh
from tests.dash_client import client_at, login

WRONG = "wrong password"


def counters(db) -> dict[str, int]:
    """The failed-login counters in force beside a database, by key."""
    with sqlite3.connect(db.parent / "accounts.sqlite") as con:
        return dict(con.execute("SELECT key, count FROM login_counters WHERE expires > ?",
                                [time.time()]).fetchall())


def fail_from_new_addresses(app, username: str, times: int, network: str = "10.0.1") -> None:
    for i in range(times):
        assert login(client_at(app, f"{network}.{i}"), username, WRONG).status_code == 401


def test_an_account_is_throttled_from_unknown_addresses_only_until_unlocked(app, db):
    assert login(client_at(app, "10.0.0.9"), "partner-bg").status_code == 302  # where its user works
    fail_from_new_addresses(app, "partner-bg", 5)
    throttled = login(client_at(app, "10.0.2.1"), "partner-bg")  # the right password, from elsewhere
    assert throttled.status_code == 429
    assert re.search(r"Too many failed logins: wait \d+ seconds? before trying again",
                     throttled.get_data(as_text=True))
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert [row["action"] for row in accounts.audit(2)] == ["login_throttled", "login_failed"]
    assert counters(db)["LIMITER/account:partner-bg/login/5/1/minute"] == 5
    own = client_at(app, "10.0.0.9")  # not locked out where it has logged in before
    assert login(own, "partner-bg", WRONG).status_code == 401
    assert login(own, "partner-bg").status_code == 302

    assert "account unlocked: partner-bg (6 failed-login counters cleared)" in \
        mvh("users", "unlock", "partner-bg", db=db).stdout  # 3 windows of the account, 3 of 10.0.0.9
    assert not any("partner-bg" in key or "10.0.0.9" in key for key in counters(db))
    assert login(client_at(app, "10.0.2.1"), "partner-bg").status_code == 302
    assert accounts.audit(1, action="account_unlocked")[0]["target"] == "partner-bg"


def test_one_address_is_throttled_whatever_names_it_tries(app, db):
    for name in [f"nobody-{i}" for i in range(8)] + ["Robert'); DROP TABLE users;--", "x" * 500]:
        assert login(client_at(app, "10.0.3.1"), name, WRONG).status_code == 401
    assert login(client_at(app, "10.0.3.1"), "partner-ro").status_code == 429
    assert login(client_at(app, "10.0.3.2"), "partner-ro").status_code == 302
    keys = counters(db)
    assert keys["LIMITER/address:10.0.3.1/login/10/1/minute"] == 10
    assert not any("DROP" in key or "xxx" in key for key in keys)  # no account by such names


def test_an_ipv6_client_is_counted_by_its_network(app, db):
    for i in range(1, 11):  # one client may hold a whole /64
        assert login(client_at(app, f"2001:db8::{i:x}"), f"nobody-{i}", WRONG).status_code == 401
    assert login(client_at(app, "2001:db8::ffff"), "partner-ro").status_code == 429
    assert login(client_at(app, "2001:db8:0:1::1"), "partner-ro").status_code == 302
    assert counters(db)["LIMITER/address:2001:db8::/64/login/10/1/minute"] == 10


def test_the_wait_grows_with_the_failures(app, db):
    waits = []
    for window in range(3):
        fail_from_new_addresses(app, "partner-bg", 5, f"10.1.{window}")
        throttled = login(client_at(app, "10.2.0.1"), "partner-bg")
        assert throttled.status_code == 429
        waits.append((int(throttled.headers["Retry-After"]), throttled.get_data(as_text=True)))
        with sqlite3.connect(db.parent / "accounts.sqlite") as con:  # a minute passes
            con.execute("UPDATE login_counters SET expires = 0 WHERE key LIKE '%/minute'")
    assert waits[0][0] <= 60 and waits[1][0] <= 60
    assert waits[2][0] > 3500 and re.search("wait 6[01] minutes", waits[2][1])  # 15 in an hour


def test_a_new_password_unlocks_the_account(app, db, monkeypatch):
    fail_from_new_addresses(app, "partner-bg", 5)
    assert login(client_at(app, "10.0.2.1"), "partner-bg").status_code == 429
    monkeypatch.setenv("MVH_PASSWORD", "another long password")
    assert "password set: partner-bg (3 failed-login counters cleared)" in \
        mvh("users", "set-password", "partner-bg", db=db).stdout
    assert login(client_at(app, "10.0.2.1"), "partner-bg", "another long password").status_code == 302


def _hit(barrier, results) -> None:
    barrier.wait()
    results.put(AccountsStorage().incr("processes", 60))


def test_parallel_failures_are_each_counted_once(db):
    storage, barrier = AccountsStorage(), threading.Barrier(30)

    def hit(_):
        barrier.wait()
        return storage.incr("threads", 60)

    with ThreadPoolExecutor(30) as pool:
        assert sorted(pool.map(hit, range(30))) == list(range(1, 31))
    assert storage.get("threads") == 30

    fork = multiprocessing.get_context("fork")
    barrier, results = fork.Barrier(30), fork.Queue()
    processes = [fork.Process(target=_hit, args=(barrier, results)) for _ in range(30)]
    for p in processes:
        p.start()
    counts = sorted(results.get(timeout=60) for _ in processes)
    for p in processes:
        p.join(timeout=60)
    assert counts == list(range(1, 31)) and storage.get("processes") == 30


def _attempt(url: str, forwarded: str, start: threading.Barrier) -> int:
    """A wrong password through the login form, as a browser behind the proxy at `forwarded`."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = browser.open(f"{url}/login", timeout=60).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"username": "partner-bg", "password": WRONG, "csrf_token": token})
    request = urllib.request.Request(f"{url}/login", data=data.encode(),
                                     headers={"X-Forwarded-For": forwarded})
    start.wait()
    try:
        return browser.open(request, timeout=60).status
    except urllib.error.HTTPError as answer:
        return answer.code


def test_under_gunicorn_parallel_attempts_check_no_more_passwords_than_the_limit(db, monkeypatch):
    monkeypatch.setenv("MVH_PROXIES", "1")  # each attempt from its own address, through the proxy
    start = threading.Barrier(30)
    with production_server(db) as url, ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(lambda i: _attempt(url, f"10.5.0.{i}", start), range(30)))
    assert sorted(answers) == [401] * 5 + [429] * 25
    assert counters(db)["LIMITER/account:partner-bg/login/5/1/minute"] == 5
    rows = accounts.audit(100, action="login_failed")
    assert len(rows) == 5 and {row["address"] for row in rows} <= {f"10.5.0.{i}" for i in range(30)}
    assert len(accounts.audit(100, action="login_throttled")) == 25
