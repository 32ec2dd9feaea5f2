"""Calendar quarters written as "2022-Q3": parsing, ranges and their first and last days."""

from __future__ import annotations

import datetime as dt
import re

QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")


def parse(quarter: str) -> tuple[int, int]:
    """Return (year, quarter number) of "2022-Q3", or raise ValueError with the expected form."""
    match = QUARTER_RE.match(str(quarter).strip().upper())
    if not match:
        raise ValueError(f"{quarter!r} is not a quarter; write it as 2022-Q3")
    return int(match.group(1)), int(match.group(2))


def of_date(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def first_day(quarter: str) -> dt.date:
    year, q = parse(quarter)
    return dt.date(year, 3 * q - 2, 1)


def last_day(quarter: str) -> dt.date:
    year, q = parse(quarter)
    if q == 4:
        return dt.date(year, 12, 31)
    return dt.date(year, 3 * q + 1, 1) - dt.timedelta(days=1)


def shift(quarter: str, by: int) -> str:
    """The quarter `by` quarters after (or, negative, before) the one given."""
    year, q = parse(quarter)
    number = year * 4 + q - 1 + by
    return f"{number // 4}-Q{number % 4 + 1}"


def between(start: dt.date, end: dt.date) -> list[str]:
    """Every quarter touched by the period from start to end, in order."""
    found, last = [of_date(start)], of_date(end)
    while parse(found[-1]) < parse(last):
        found.append(shift(found[-1], 1))
    return found
