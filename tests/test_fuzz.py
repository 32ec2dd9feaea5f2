"""Fuzz of every page and every callback of the real app, logged in through the Flask test client:
malformed, long, unicode, repeated or unknown query arguments and wrongly typed callback values
are answered with a page or a message (200), no update (204) or a refusal (400/403): never a 500,
never a traceback, never a long argument echoed back whole."""

from __future__ import annotations

import inspect
import json
import random
import shutil
import sys
from urllib.parse import quote

import dash
import pytest

from dashboard.failures import FAILED
from pipelines.access import accounts
from tests.dash_client import login, render, text, using

SEED = 11
LONG = "L" * 9_990 + "-end-mark"  # 10,000 characters
MARK = "-end-mark"
ANSWERS = {200, 204, 400, 403}
TRACEBACK = ("Traceback (most recent call last)", 'File "/')
UNICODE = ["\u202eRTL override", "مرحبا بالعالم", "😀👩‍👩‍👧‍👦🇧🇬", "nul\x00byte", "e\u0301\u0308\u0327",
           "\ufeffBOM", "\ud7ff\ue000\uffff", "Ⅻ", "ＢＧ"]
# values a page's known arguments may be given instead of a country, quarter, KPI, kind...
INVALID = ["XX", "2099-Q9", "2023-Q0", "1999-Q1", "'; DROP TABLE submissions; --", "12345", "-1",
           "0", "1e309", "NaN", "", " ", " BG ", "bg\x00", "None", "null", "true", "[]", "{}",
           "BG,RO", "<script>alert(1)</script>", "../../etc/passwd", "%s%n", LONG, *UNICODE]
MALFORMED = ["?", "?&&&", "?=", "?=x", "?%", "?%zz=%zz", "?a=%ff%fe%fd", "?country", "?;;;",
             "?a[b]=c&a[]=d", "?+++=+++", "?%00=%00", "country=BG", "??country=BG", "?#x",
             "?" + "&".join(f"k{i}=v" for i in range(2_000)), "?" + LONG + "=1",
             "?country=" + quote(LONG), "?x=" + "%" * 5_000]
UNKNOWN_NAMES = ["nonsense", "class", "lambda", "self", "kwargs", "pathname_", "search_",
                 "COUNTRY", "as-of", "1", "é", "😀"]
# each known argument gets these, and a few more of INVALID drawn by the seed
CORE = ["2099-Q9", "XX", "'; DROP TABLE submissions; --", "12345", LONG, "\u202eRTL override",
        "nul\x00byte"]


def nested(depth: int) -> dict:
    """Dicts in lists in dicts, `depth` levels down."""
    value: dict = {}
    for i in range(depth):
        value = {f"k{i}": [value], "points": i}
    return value


# values a callback's inputs and state are given instead of what their component sends
WRONG = [None, 0, -1, 2**70, 1.5e308, True, "", LONG, "x" * 1_000_000, *UNICODE[:4], [],
         [1, "a", None], [[[]]], {}, {"a": 1}, {"": None}, nested(3), nested(60),
         {"points": "x"}, {"points": [{}]}, {"points": [{"customdata": {"a": 1}}]},
         {"points": [{"customdata": "ZZ"}]}, {"rows": "x", "columns": 3},
         {"rows": [[1, 2, 3]], "columns": ["a"]}, {"rows": [{"a": 1}], "columns": None},
         {"content": 1, "filename": {}}, {"data": [1], "name": None}, "2099-Q9", "XX"]


def randoms(rng: random.Random, count: int) -> list:
    """Random JSON values: strings of odd characters, numbers, lists and dicts a few levels deep."""
    alphabet = "aZ09 -_=&?%#/\\'\"<>{}[]\x00\t\n" + "".join(UNICODE)

    def value(depth: int):
        kind = rng.randrange(6 if depth < 3 else 4)
        if kind == 0:
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        if kind == 1:
            return rng.choice([rng.randrange(-10**9, 10**9), rng.random() * 1e12, None, False])
        if kind == 2:
            return rng.choice(INVALID)
        if kind == 3:
            return rng.choice([2**64, -0.0, "", "0"])
        if kind == 4:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {str(value(0)) if rng.random() < 0.5 else rng.choice(["points", "rows", "columns",
                "customdata", "data", "id"]): value(depth + 1) for _ in range(rng.randrange(4))}

    return [value(0) for _ in range(count)]


def searches(rng: random.Random, known: list[str], valid: list[str]) -> list[str]:
    """Query strings for a page whose layout takes the arguments `known`; `valid` are values that
    some argument of some page takes (quarters, countries, KPI ids, kinds)."""
    found = list(MALFORMED)
    found += ["?" + "&".join(f"{quote(name)}={quote(value)}" for name, value in
                             zip(UNKNOWN_NAMES, rng.sample(INVALID, len(UNKNOWN_NAMES)), strict=True)),
              "?" + "&".join(f"{quote(text, safe='')}={quote(text, safe='')}" for text in UNICODE),
              "?" + "&".join(f"{text}={text}" for text in UNICODE)]
    for name in known:
        values = CORE + rng.sample([v for v in INVALID if v not in CORE], 5)
        found += [f"?{name}={quote(value, safe='')}" for value in values]
        found += [f"?{name}={values[-1]}",  # unencoded
                  f"?{name}=a&{name}={rng.choice(valid)}&{name}=",
                  f"?{name}={rng.choice(valid)}&{name}={rng.choice(valid)}"]
    for _ in range(6):  # every known argument at once, valid or not, and two unknown ones
        found.append("?" + "&".join(f"{name}={quote(rng.choice(valid + INVALID), safe='')}"
                                    for name in known + rng.sample(UNKNOWN_NAMES, 2)))
    return found


def arguments(page: dict) -> list[str]:
    """The query arguments a page's own layout names (its signature, not the access guard's)."""
    layout = getattr(sys.modules[page["module"]], "layout", None)
    if not callable(layout):
        return []
    return [name for name, p in inspect.signature(layout).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def problem(response, sent: str = "", content: bool = True) -> str | None:
    """What is wrong with an answer, or None. `content`: the answer is what a page shows (the app
    shell's meta tags and a URL's search string may carry a long argument; a page may not)."""
    body = response.get_data(as_text=True)
    if response.status_code not in ANSWERS:
        return f"status {response.status_code}: {body[:300]}"
    if any(t in body for t in TRACEBACK):
        return f"a traceback in the answer: {body[:300]}"
    if FAILED in body:
        return "the app's last resort answered: a callback raised (its traceback is in the log)"
    if content and MARK in sent and response.is_json and LONG in body:
        return "the 10,000-character argument is shown whole"
    return None


def copied(demo_db, folder):
    """A copy of the demo database and its accounts, to write to."""
    shutil.copytree(demo_db.parent, folder, dirs_exist_ok=True)
    return folder / demo_db.name


@pytest.fixture(scope="module")
def database(demo_db, tmp_path_factory):
    """A copy of the demo database in use for the module: callbacks such as the upload write."""
    path = copied(demo_db, tmp_path_factory.mktemp("fuzz"))
    with using(path):
        yield path


def logged_in(app, username: str):
    client = app.server.test_client()
    login(client, username)
    return client


@pytest.fixture(scope="module")
def client(app, database):
    """The admin, who may open every page and fire every callback."""
    return logged_in(app, "admin")


@pytest.mark.parametrize("username", ["admin", "partner-ro"])
def test_every_page_answers_odd_query_arguments(app, database, reg, username):
    """The admin's pages, and a partner's, whose data views are limited to its country."""
    client = logged_in(app, username)
    rng = random.Random(SEED)
    valid = [*reg.quarters, *(c.code for c in reg.countries), *(k.id for k in reg.kpis),
             *reg.entities, "all"]
    assert len(dash.page_registry) >= 11
    failures = []
    for page in dash.page_registry.values():
        for search in searches(rng, arguments(page), valid):
            shown = render(client, page["path"], search)
            wrong = problem(shown, search)
            if wrong is None and shown.status_code == 200 and (
                    "_pages_content" not in shown.get_json()["response"]):
                wrong = "no page in the answer"
            if wrong:
                failures.append(f"{page['path']}{search[:80]!r}: {wrong}")
        for search in MALFORMED[:5] + MALFORMED[-3:]:  # the shell the browser loads first
            if wrong := problem(client.get(page["path"] + search), search, content=False):
                failures.append(f"GET {page['path']}{search[:80]!r}: {wrong}")
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures[:40])


def notes(tree) -> list[str]:
    """The notes a rendered page shows (a response's JSON)."""
    if isinstance(tree, list):
        return [n for item in tree for n in notes(item)]
    if not isinstance(tree, dict):
        return []
    props = tree.get("props", {})
    found = [props["children"]] if props.get("className") == "note" else []
    return found + [n for value in tree.values() for n in notes(value)]


def test_an_unknown_value_gives_the_page_with_its_default_and_a_note(client):
    shown = render(client, "/trends", "?kpi=migrants_reached&as_of=2099-Q9")
    assert notes(shown.get_json()) == ["There is no quarter '2099-Q9': pick one from the list."]
    assert "As of 2023-Q4: " in text(shown)  # the latest quarter
    shown = render(client, "/trends", "?kpi=" + quote("\u202e" + LONG))
    assert notes(shown.get_json()) == [
        "There is no KPI '\\u202eLLLLLLLLLLLLLLLLLLLLLLL'…: pick one from the list."]
    shown = render(client, "/trends", "?as_of=2023-Q1&as_of=2023-Q2&kpi=migrants_reached")
    assert notes(shown.get_json()) == [] and "As of 2023-Q1: " in text(shown)  # the first counts


def callbacks(app, upload: bool) -> list[tuple[str, dict]]:
    """The callbacks of the app's callback map, the upload page's or all the others."""
    return [(output, spec) for output, spec in app.callback_map.items()
            if output.lstrip(".").startswith("upload-") == upload]


def concrete(ident: str) -> str | dict:
    """A component id of the map, pattern wildcards filled with a table of a page."""
    if not ident.startswith("{"):
        return ident
    return {k: "quality-findings" if v == ["MATCH"] else v for k, v in json.loads(ident).items()}


def post(client, output: str, spec: dict, values: list, changed: int):
    """POST a callback of the map with `values` for its inputs then its state."""
    declared = spec["inputs"] + spec["state"]
    given = [{"id": concrete(d["id"]), "property": d["property"], "value": v}
             for d, v in zip(declared, values, strict=True)]
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = [{"id": concrete(ident), "property": prop.split("@")[0]}
               for ident, prop in (part.rsplit(".", 1) for part in parts)]
    trigger = given[changed]
    trigger_id = trigger["id"] if isinstance(trigger["id"], str) else json.dumps(
        trigger["id"], sort_keys=True, separators=(",", ":"))
    return client.post("/_dash-update-component", json={
        "output": output, "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": given[:len(spec["inputs"])], "state": given[len(spec["inputs"]):],
        "changedPropIds": [f"{trigger_id}.{trigger['property']}"]})


def fuzz_callbacks(app, client, upload: bool) -> list[str]:
    """Each input and state of each callback given each wrong value, the others None or wrong."""
    rng = random.Random(SEED)
    failures = []
    for output, spec in callbacks(app, upload):
        width = len(spec["inputs"]) + len(spec["state"])
        shows = ".children" in output  # an output that is page content
        for position in range(width):
            for value in WRONG + randoms(rng, 12):
                for others in (None, rng.choice(WRONG)):
                    values = [others] * width
                    values[position] = value
                    answer = post(client, output, spec, values,
                                  position if position < len(spec["inputs"]) else 0)
                    wrong = problem(answer, json.dumps(value), content=shows)
                    unknown = "matches no callback" in answer.get_data(as_text=True)  # clientside
                    if wrong is None and unknown and "callback" in spec:
                        wrong = f"a server callback refused as unknown: {answer.get_data(as_text=True)}"
                    if wrong:
                        failures.append(f"{output} [{position}]={json.dumps(value)[:60]}: {wrong}")
    return failures


def test_every_callback_answers_wrongly_typed_values(app, client):
    assert len(callbacks(app, upload=False)) >= 10
    failures = fuzz_callbacks(app, client, upload=False)
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures[:40])


def test_the_upload_callbacks_answer_wrongly_typed_values(app, client):
    failures = fuzz_callbacks(app, client, upload=True)
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures[:40])


def test_a_callback_that_fails_answers_a_message_and_tells_the_admins(app, demo_db, tmp_path):
    database = copied(demo_db, tmp_path)
    database.write_bytes(b"not a database " * 1000)  # damaged: every page that reads it fails
    with using(database):
        client = app.server.test_client()
        login(client, "admin")
        shown = render(client, "/trends", "?kpi=migrants_reached")
        assert shown.status_code == 200
        assert shown.get_json()["sideUpdate"]["app-error"]["children"] == FAILED
        assert not any(t in text(shown) for t in TRACEBACK)
        told = accounts.audit(5, action="error")
    assert told[0]["actor"] == "admin"
    assert told[0]["target"] == "callback _pages_content.children, _pages_store.data"
    assert "not a valid DuckDB database file" in told[0]["detail"]


def posted(client, bodies: list, raw: list[bytes] = ()) -> list[str]:
    """The problems of callback requests with these JSON bodies, and with these bytes as bodies."""
    answers = [(json.dumps(b)[:200], client.post("/_dash-update-component", json=b)) for b in bodies]
    answers += [(repr(r[:20]), client.post("/_dash-update-component", data=r,
                                           content_type="application/json")) for r in raw]
    return [f"{sent}: {wrong}" for sent, answer in answers if (wrong := problem(answer))]


def test_callback_requests_of_the_wrong_shape_are_refused(client):
    spec = {"output": "trends-url.search", "outputs": {"id": "trends-url", "property": "search"},
            "inputs": [{"id": "trends-kpi", "property": "value", "value": "migrants_reached"},
                       {"id": "trends-as-of", "property": "value", "value": "2023-Q1"}],
            "changedPropIds": ["trends-kpi.value"]}
    assert client.post("/_dash-update-component", json=spec).status_code == 200
    shapes = [{**spec, key: wrong} for key in spec for wrong in (None, 5, "x", [], {}, [5], [{}], [[]])]
    shapes += [{k: v for k, v in spec.items() if k != key} for key in spec]
    shapes += [{**spec, "inputs": [{**i, "id": {"a": 1}} for i in spec["inputs"]]},
               {**spec, "inputs": [{"property": "value"}] * 2},
               {**spec, "inputs": spec["inputs"] * 3}, {**spec, "state": [{"id": "x"}]},
               {**spec, "output": "..trends-url.search...trends-url.search.."}, [], {}, None]
    failures = posted(client, shapes, [b"", b"{", b"\xff\xfe", b'{"output": 1e999999}'])
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures)
    refused = client.post("/_dash-update-component", json={**spec, "inputs": spec["inputs"][:1]})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == ("Refused: this request is not shaped as the page sends "
                                           "it. Reload the page.")


def test_callback_bodies_that_are_no_object_are_refused(client):
    failures = posted(client, ["x", 5, [{"outputs": 1}]], [b"[" * 100_000])
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures)
