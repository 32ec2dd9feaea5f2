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


def between(start: dt.date, end: dt.date) -> list[str]:
    """Every quarter touched by the period from start to end, in order."""
    quarters, year, q = [], *parse(of_date(start))
    last = parse(of_date(end))
    while (year, q) <= last:
        quarters.append(f"{year}-Q{q}")
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return quarters
