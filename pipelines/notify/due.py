"""What is due to be e-mailed on a day: each message, in its recipient's language, keyed by the
event it tells of and its recipient (outbox.py sends a key once, ever).

- loaded, returned, approved: to the partners of a submission's key (the country's; where the
  country reports per organisation, that organisation's only) when a version was loaded or a
  manager approved or returned it, in the LOOKBACK_DAYS up to the day. Older events were mailed
  when they happened, or happened before the mailer was set up: a first run on an old database
  mails nobody about them;
- due: a reminder to the partners of a key none has sent a workbook for, from
  `reminders.days_before_due` days before its due date to the due date itself;
- overdue: after the due date, while no version is accepted, a notice every
  `reminders.overdue_every_days` days (each is an event of its own: the first, second, ...);
- digest: once a week (the ISO week of the day), to managers and admins, the late workbooks and
  the keys waiting for a decision, oldest first; none when both lists are empty.
Only quarters of the project period count; only active accounts with an e-mail address are
written to.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.access import accounts, approvals
from pipelines.access.approvals import Key
from pipelines.declaration.registry import Registry
from pipelines.intake import messages
from pipelines.notify import texts

LOOKBACK_DAYS = 3  # loads and decisions older than this are not mailed
MAILED_DECISIONS = ("approved", "returned")
WAITING = ("submitted", "reopened")  # waiting for a manager's decision (the Review page's queue)
MOST = 25  # lines of a list in a message; the rest are counted


@dataclass(frozen=True)
class Mail:
    key: str  # the event and the recipient, e.g. due:BG:2023-Q4:ana: never sent twice
    kind: str  # loaded, returned, approved, due, overdue or digest
    user: accounts.User
    lang: str
    subject: str
    text: str


def due(con, registry: Registry, people: list[accounts.User], today: dt.date,
        database: Path | str | None = None) -> list[Mail]:
    """Every message due on a day, sent or not: the events' of the last days, the reminders and
    overdue notices of the keys without a workbook, and the week's digest."""
    versions = approvals.current(con)
    missing = _missing(registry, versions)
    since = today - dt.timedelta(days=LOOKBACK_DAYS)
    return [*_loaded(con, registry, people, since, today),
            *_decided(registry, people, list(versions), since, today, database),
            *_reminders(registry, people, missing, today),
            *_digests(con, registry, people, missing, today, database)]


def _what(key: Key) -> str:
    """A key as the messages name it: "BG 2023-Q4", "IT 2023-Q4 (ActionAid Italia)"."""
    return f"{key.country} {key.quarter}" + (f" ({key.reporter})" if key.reporter else "")


def _partners(people: list[accounts.User], registry: Registry, key: Key) -> list[accounts.User]:
    """The partners a key concerns: its country's, and where the country reports per
    organisation, the accounts of the key's organisation only."""
    own = registry.per_partner(key.country)
    return [u for u in people if u.role == "partner" and u.country == key.country
            and (not own or (u.organisation or "").casefold() == key.reporter.casefold())]


def _mail(kind: str, event: str, user: accounts.User, registry: Registry,
          more: Callable[[str], list[str]] | None = None, **values: object) -> Mail:
    """A message of a kind to a user in their language: the kind's subject and body filled with
    `values`, then the paragraphs `more` writes in that language."""
    lang = accounts.language(user.lang, user.country, registry)
    values["project"] = registry.project.acronym
    paragraphs = [texts.text(kind, "body", lang, **values), *(more(lang) if more else [])]
    return Mail(f"{event}:{user.username}", kind, user, lang, texts.text(kind, "subject", lang, **values),
                texts.body(lang, registry.project.acronym, *paragraphs))


def _loaded(con, registry: Registry, people: list[accounts.User], since: dt.date,
            today: dt.date) -> Iterator[Mail]:
    """A notice per version loaded in the window, with its warnings."""
    loaded = con.execute("SELECT submission_id, country, quarter, reporter, version, file_name "
                         "FROM submissions WHERE CAST(received_at AS DATE) BETWEEN ? AND ? "
                         "ORDER BY received_at", [since, today]).fetchall()
    for submission, country, quarter, reporter, version, file_name in loaded:
        key = Key(country, quarter, reporter)
        warned = con.execute("SELECT sheet, cell, value, rule, sheet_id, field, params FROM findings "
                             "WHERE submission_id = ? ORDER BY sheet, cell", [submission]).fetchall()
        for user in _partners(people, registry, key):
            yield _mail("loaded", f"loaded:{country}:{quarter}:{reporter}:{version}", user, registry,
                        functools.partial(_warnings, warned, registry), what=_what(key),
                        version=version, file=file_name)


def _warnings(warned: list[tuple], registry: Registry, lang: str) -> list[str]:
    """How many warnings a version has, and the first of them as the partner reads them."""
    lines = []
    for sheet, cell, value, rule, sheet_id, field, params in warned:
        message, _ = messages.render(rule, lang, registry, sheet_id=sheet_id or "", field=field or "",
                                     value=value or "", cell=cell or "",
                                     params=json.loads(params) if params else None)
        where = "!".join(part for part in (sheet, cell) if part)
        lines.append(f"{where}: {message}" if where else message)
    return [texts.listed(texts.text("loaded", "warnings", lang, count=len(warned)), lines, lang, MOST)]


def _decided(registry: Registry, people: list[accounts.User], keys: list[Key], since: dt.date,
             today: dt.date, database: Path | str | None) -> Iterator[Mail]:
    """A notice per approval or return taken in the window, with its reason or comment."""
    for d in approvals.decisions(keys, database):
        kind, key = approvals.ACTIONS[d["action"]], d["key"]
        if kind not in MAILED_DECISIONS or not since <= _local_day(d["at"]) <= today:
            continue
        comment = functools.partial(_comment, d["reason"]) if kind == "approved" and d["reason"] else None
        event = f"{kind}:{key.country}:{key.quarter}:{key.reporter}:{d['version']}:{d['at']}"
        for user in _partners(people, registry, key):
            yield _mail(kind, event, user, registry, comment, what=_what(key), version=d["version"],
                        reason=d["reason"] or "")


def _local_day(at: str) -> dt.date:
    """The day, here, of a time recorded in UTC."""
    return dt.datetime.fromisoformat(at).astimezone().date()


def _comment(reason: str, lang: str) -> list[str]:
    return [texts.text("approved", "note", lang, reason=reason)]


def _missing(registry: Registry, versions: dict[Key, int]) -> list[Key]:
    """Every key of the project period without an accepted version, oldest quarter first: a
    country's quarter, or each organisation's where the country reports per organisation."""
    sent = {(k.country, k.quarter, k.reporter.casefold()) for k in versions}
    return [Key(c.code, quarter, reporter) for quarter in registry.quarters for c in registry.countries
            for reporter in (c.partners if registry.per_partner(c.code) else [""])
            if (c.code, quarter, reporter.casefold()) not in sent]


def _reminders(registry: Registry, people: list[accounts.User], missing: list[Key],
               today: dt.date) -> Iterator[Mail]:
    """The reminder before a missing workbook's due date, and the overdue notices after it."""
    rule = registry.project.reminders
    for key in missing:
        due_on = registry.due_date(key.quarter)
        late = (today - due_on).days
        if late > 0:
            notice = (late - 1) // rule.overdue_every_days + 1  # the first, second, ... since it was due
            kind, event = "overdue", f"overdue:{key.country}:{key.quarter}:{notice}"
        elif late >= -rule.days_before_due:
            kind, event = "due", f"due:{key.country}:{key.quarter}"
        else:
            continue
        for user in _partners(people, registry, key):
            yield _mail(kind, event, user, registry, what=_what(key), due=due_on.isoformat())


def _digests(con, registry: Registry, people: list[accounts.User], missing: list[Key], today: dt.date,
             database: Path | str | None) -> Iterator[Mail]:
    """The week's digest to each manager and admin: late workbooks and the review queue."""
    late = [k for k in missing if registry.due_date(k.quarter) < today]
    queue = _queue(con, registry, database)
    if not late and not queue:
        return
    year, week, _ = today.isocalendar()
    stamp = f"{year}-W{week:02d}"
    for user in (u for u in people if u.has("manager")):
        yield _mail("digest", f"digest:{stamp}", user, registry,
                    functools.partial(_digest, late, queue, registry), week=stamp, today=today.isoformat())


def _queue(con, registry: Registry, database: Path | str | None) -> list[tuple[Key, int, str]]:
    """The keys waiting for a decision with their current version and its arrival, oldest first."""
    received = {Key(c, q, r): str(at)[:16] for c, q, r, at in con.execute(
        "SELECT country, quarter, reporter, received_at FROM current_submissions").fetchall()}
    waiting = [(Key(s["country"], s["quarter"], s["organisation"]), s["version"])
               for s in approvals.table(con, registry, registry.quarters[-1], database)
               if s["state"] in WAITING]
    return sorted(((key, version, received[key]) for key, version in waiting), key=lambda w: w[2])


def _digest(late: list[Key], queue: list[tuple[Key, int, str]], registry: Registry, lang: str) -> list[str]:
    late_lines = [texts.text("digest", "late_line", lang, what=_what(k),
                             due=registry.due_date(k.quarter).isoformat()) for k in late]
    queue_lines = [texts.text("digest", "queue_line", lang, what=_what(k), version=v, received=at)
                   for k, v, at in queue]
    return [texts.listed(texts.text("digest", "late", lang, count=len(late)), late_lines, lang, MOST),
            texts.listed(texts.text("digest", "queue", lang, count=len(queue)), queue_lines, lang, MOST)]
