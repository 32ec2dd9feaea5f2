"""Demo data: one filled template per country per quarter, true to the project's public facts.

The story (deterministic for a seed): each country has one council and one main authority.
Five new councils go planned -> in preparation -> established -> active, two existing ones
(Graz, Campania) are strengthened; each main authority goes contacted -> engaged -> supporting;
two countries also work with a national ministry, which does not count towards the authorities
target. Activities have plausible sex and age mixes; outreach grows to a little over its target
by 2023-Q4, with the territory a council covers reported once. Two realistic gaps: Hungary's
2022-Q3 workbook is missing and Romania's 2023-Q1 workbook came in late. Austria, Greece and
Romania also send a participant register (CSV) with each workbook, agreeing with its activities.
Italy reports per partner organisation (indicators.yaml): each quarter ActionAid Italia sends
the council, half the activities and most outreach (IT_<quarter>.xlsx), and Regione Campania its
own authority row, the other activities and the social media outreach, a day later
(IT_<quarter>_Regione_Campania.xlsx); together they are what one workbook would say.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import re
import zipfile
from pathlib import Path

from pipelines.declaration import quarters
from pipelines.declaration.registry import Country, Registry
from pipelines.declaration.template import build, fill

MISSING = {("HU", "2022-Q3")}
# countries whose partners keep a participant register, sent beside each workbook as CSV
REGISTERS = ("AT", "GR", "RO")
AGE_CODES = {"under_18": "A", "18_60": "B", "over_60": "C", "unknown": "D"}
POOL = 60  # people of each kind (sex, age bracket, nationality) a country's activities draw on
LATE_DAYS = {("RO", "2023-Q1"): 19}  # days after the due date
# quarter index (0 = first project quarter) at which each council reaches its goal status
COUNCIL_GOAL = {"AT": 3, "BG": 3, "FR": 4, "GR": 2, "HU": 5, "IT": 4, "RO": 6}
AUTHORITY_GOAL = {"AT": 1, "BG": 2, "FR": 3, "GR": 3, "HU": 4, "IT": 5, "RO": 6}
NATIONAL_PARTNER = {
    "BG": "Ministry of Labour and Social Policy",
    "GR": "Ministry of Migration and Asylum",
}
REGIONAL = {"FR", "IT"}
OVERSHOOT = 1.05  # each country ends a little above its share of the reach target
TERRITORY_SHARE = 0.45  # part of a country's reach that is the council's territory
ACTIVITY_TYPES = [
    "council_meeting",
    "consultation",
    "training",
    "language_course",
    "civic_orientation",
    "professional_guidance",
    "awareness_event",
]


def generate(registry: Registry, out: Path, seed: int = 0) -> list[Path]:
    """Write the demo workbooks into `out`, and the registers of REGISTERS beside them as CSV
    files; return the workbooks' paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for country in registry.countries:
        rng = random.Random(f"{seed}-{country.code}")
        reach = _reach_plan(registry, country, rng)
        people = random.Random(f"{seed}-{country.code}-people")
        for index, quarter in enumerate(registry.quarters):
            if (country.code, quarter) in MISSING:
                continue
            written += _write(registry, country, quarter, index, reach[index], rng, out)
            if country.code in REGISTERS and index:
                _write_register(registry, written[-1], country, quarter, people)
    return written


def _write_register(registry: Registry, workbook: Path, country: Country, quarter: str,
                    rng: random.Random) -> Path:
    """A register that agrees with the workbook's Activities sheet, written beside it as CSV.

    Each person has a fixed sex, age bracket and nationality and comes back to later activities
    and quarters (codes are drawn from a small pool per kind of person), so unique participants
    are fewer than participations. Same seed, same bytes; its time is the workbook's.
    """
    from pipelines.intake import read

    activities = read.read(workbook, registry).sheets["activities"].frame
    rows = []
    for a in activities.to_dict("records"):
        total = int(a["participants_total"])
        sexes = (["female"] * int(a["female"]) + ["male"] * int(a["male"])
                 + ["other_unknown"] * int(a["sex_other_unknown"]))
        ages = (["under_18"] * int(a["age_under_18"]) + ["18_60"] * int(a["age_18_60"])
                + ["over_60"] * int(a["age_over_60"]) + ["unknown"] * int(a["age_unknown"]))
        nationals = int(a["third_country_nationals"])
        tcn = ["yes"] * nationals + ["no"] * (total - nationals)
        rng.shuffle(ages)
        rng.shuffle(tcn)
        kinds = list(zip(sexes, ages, tcn, strict=True))
        start = rng.randrange(POOL)  # a consecutive run of the pool: distinct people in one activity
        for number, kind in enumerate(kinds):
            sex, age, tcn = kind
            code = (f"{country.code}-{sex[0].upper()}{AGE_CODES[age]}{tcn[0].upper()}-"
                    f"{(start + kinds[:number].count(kind)) % POOL:03d}")
            day = a["start_date"] + (a["end_date"] - a["start_date"]) * rng.random()
            rows.append([code, a["activity_id"], day.strftime("%d/%m/%Y"), *kind])
    path = workbook.with_name(f"{country.code}_{quarter}_register.csv")
    header = [f.label(country.language) for f in registry.participant_register.sheet.fields]
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    moment = workbook.stat().st_mtime
    os.utime(path, (moment, moment))
    return path


def _write(
    registry: Registry,
    country: Country,
    quarter: str,
    index: int,
    outreach: list[dict],
    rng: random.Random,
    out: Path,
) -> list[Path]:
    """The country's workbook of a quarter, or one per partner organisation where the country
    reports per organisation."""
    due = registry.due_date(quarter)
    late = LATE_DAYS.get((country.code, quarter))
    submitted = (
        due + dt.timedelta(days=late) if late else due - dt.timedelta(days=rng.randint(2, 25))
    )
    stamp_time = dt.datetime.combine(quarters.first_day(quarter), dt.time(9))
    wb = build(registry, country.code, quarter, generated_at=stamp_time)
    cover = {
        "partner": country.partners[0],
        "reported_by": f"Project coordinator, {country.code}",
        "email": f"mvh-{country.code.lower()}@example.org",
        "submitted_on": submitted,
        "notes": "Report sent late: council elections delayed our data." if late else None,
    }
    tables = {
        "councils": [_council(country, quarter, index, rng)],
        "authorities": _authorities(country, quarter, index),
        "activities": _activities(country, quarter, index, rng),
        "outreach": outreach,
    }
    shares = _shares(tables) if registry.per_partner(country.code) else [tables]
    written = []
    for number, (partner, share) in enumerate(zip(country.partners, shares, strict=False)):
        wb = build(registry, country.code, quarter, generated_at=stamp_time) if number else wb
        day = submitted + dt.timedelta(days=number)
        fill(wb, registry, country.language, {**cover, "partner": partner, "submitted_on": day}, share)
        path = out / (f"{country.code}_{quarter}.xlsx" if not number
                      else f"{country.code}_{quarter}_{partner.replace(' ', '_')}.xlsx")
        _save_reproducibly(wb, path, stamp_time)
        sent = dt.datetime.combine(day, dt.time(12)).timestamp()
        os.utime(path, (sent, sent))
        written.append(path)
    return written


def _shares(tables: dict[str, list[dict]]) -> list[dict[str, list[dict]]]:
    """The tables as two partner organisations report them: the second its authorities, every
    second activity and the social media outreach; the first the rest."""
    second = {"councils": [], "authorities": tables["authorities"],
              "activities": tables["activities"][1::2],
              "outreach": [r for r in tables["outreach"] if r["channel"] == "social_media"]}
    first = {name: [r for r in rows if r not in second[name]] for name, rows in tables.items()}
    return [first, second]


def _council(country: Country, quarter: str, index: int, rng: random.Random) -> dict:
    """The council's row: its status moves along its lifecycle towards the goal quarter."""
    goal, new = COUNCIL_GOAL[country.code], country.targets.get("councils_established", 0) > 0
    if new:
        steps = [
            (0, "planned"),
            (goal - 2, "in_preparation"),
            (goal, "established"),
            (goal + 1, "active"),
        ]
    else:
        steps = [(0, "in_preparation"), (goal, "strengthened")]
    since, status = [(at, s) for at, s in steps if at <= index][-1]
    running = index >= goal or not new
    members = (12 + 2 * min(index, 6)) if running else 0
    return {
        "council_id": f"{country.code}-C1",
        "name": f"Migrant council of {country.place}",
        "place": country.place,
        "level": "regional" if country.code in REGIONAL else "local",
        "support_type": "establish" if new else "strengthen",
        "status": status,
        "status_date": quarters.first_day(quarters.shift(quarter, since - index))
        + dt.timedelta(days=15),
        "members_total": members,
        "members_female": round(members * 0.42),
        "meetings": rng.randint(1, 3) if running else 0,
        "consultations": rng.randint(0, 2) if index > goal else 0,
        "recommendations": rng.randint(0, 3) if index > goal else 0,
        "evidence": f"Minutes of council meetings, {quarter}" if running else None,
    }


def _save_reproducibly(wb, path: Path, moment: dt.datetime) -> None:
    """Save with fixed timestamps, so the same seed gives byte-identical files (same hashes)."""
    buffer = io.BytesIO()
    wb.save(buffer)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            out.writestr(
                zipfile.ZipInfo(entry.filename, moment.timetuple()[:6]), data, zipfile.ZIP_DEFLATED
            )


def _authorities(country: Country, quarter: str, index: int) -> list[dict]:
    goal = AUTHORITY_GOAL[country.code]
    status = "supporting" if index >= goal else "engaged" if index >= goal - 2 else "contacted"
    since = goal if index >= goal else max(0, goal - 2) if index >= goal - 2 else 0
    rows = [
        {
            "authority_id": f"{country.code}-A1",
            "name": country.partners[-1]
            if country.partners[-1].startswith(("Municipality", "Regione"))
            else f"City of {country.place}"
            if country.code not in REGIONAL
            else f"Region {country.place}",
            "level": "regional" if country.code in REGIONAL else "local",
            "council_id": f"{country.code}-C1",
            "status": status,
            "status_date": quarters.first_day(quarters.shift(quarter, since - index))
            + dt.timedelta(days=20),
            "commitment": "Council decision of support" if status == "supporting" else None,
            "evidence": "Decision published on the authority's website"
            if status == "supporting"
            else None,
        }
    ]
    if country.code in NATIONAL_PARTNER and index >= 2:
        rows.append(
            {
                "authority_id": f"{country.code}-A2",
                "name": NATIONAL_PARTNER[country.code],
                "level": "national",
                "council_id": None,
                "status": "supporting",
                "status_date": quarters.first_day(quarters.shift(quarter, 2 - index))
                + dt.timedelta(days=10),
                "commitment": "Letter of support",
                "evidence": "Letter on file",
            }
        )
    return rows


def _split(total: int, shares: list[float], rng: random.Random) -> list[int]:
    """Split a whole number into parts near the given shares that add up exactly."""
    weights = [max(0.0, s + rng.uniform(-0.06, 0.06)) for s in shares]
    parts = [int(total * w / sum(weights)) for w in weights]
    parts[max(range(len(parts)), key=lambda i: weights[i])] += total - sum(parts)
    return parts


def _activities(country: Country, quarter: str, index: int, rng: random.Random) -> list[dict]:
    if index == 0:
        return []
    start, end = quarters.first_day(quarter), quarters.last_day(quarter)
    rows = []
    for number in range(1, rng.randint(2, 4) + 1):
        total = rng.randint(8, 60)
        female, male, sex_unknown = _split(total, [0.46, 0.51, 0.03], rng)
        young, adult, old, age_unknown = _split(total, [0.06, 0.84, 0.07, 0.03], rng)
        day = start + dt.timedelta(days=rng.randint(0, (end - start).days))
        kind = rng.choice(ACTIVITY_TYPES)
        rows.append(
            {
                "activity_id": f"{country.code}-{quarter[2:4]}{quarter[5:]}-{number:02d}",
                "council_id": f"{country.code}-C1",
                "title": kind.replace("_", " ").capitalize() + f" in {country.place}",
                "activity_type": kind,
                "start_date": day,
                "end_date": min(end, day + dt.timedelta(days=rng.choice([0, 0, 1, 6]))),
                "participants_total": total,
                "female": female,
                "male": male,
                "sex_other_unknown": sex_unknown,
                "age_under_18": young,
                "age_18_60": adult,
                "age_over_60": old,
                "age_unknown": age_unknown,
                "third_country_nationals": round(total * rng.uniform(0.7, 0.95)),
                "reported_helpful": round(total * rng.uniform(0.55, 0.85)),
            }
        )
    return rows


def _reach_plan(registry: Registry, country: Country, rng: random.Random) -> list[list[dict]]:
    """Outreach lines per quarter: the territory once, then channels growing quarter by quarter."""
    target = country.targets.get("migrants_reached", 0) * OVERSHOOT
    territory = round(target * TERRITORY_SHARE)
    rest = target - territory
    n = len(registry.quarters)
    weights = [0.0] + [float(i) for i in range(1, n)]
    plan = []
    for index, quarter in enumerate(registry.quarters):
        lines = []
        tag = f"{country.code}-{quarter[2:4]}{quarter[5:]}"
        if index == COUNCIL_GOAL[country.code]:
            lines.append(
                {
                    "outreach_id": f"{tag}-O1",
                    "channel": "council_territory",
                    "description": f"Migrants resident in {country.place}",
                    "migrants_reached": territory,
                    "estimation_method": "official_statistics",
                    "source": "National statistical office, residents by citizenship",
                }
            )
        amount = round(rest * weights[index] / sum(weights))
        channels = [
            ("campaign", "partner_estimate"),
            ("media", "audience_measurement"),
            ("social_media", "platform_analytics"),
        ]
        for number, ((channel, method), part) in enumerate(
            zip(channels, _split(amount, [0.3, 0.45, 0.25], rng), strict=True), start=2
        ):
            if part:
                lines.append(
                    {
                        "outreach_id": f"{tag}-O{number}",
                        "channel": channel,
                        "description": f"{channel.replace('_', ' ').capitalize()} on participation",
                        "migrants_reached": part,
                        "estimation_method": method,
                        "source": "Partner's records",
                    }
                )
        plan.append(lines)
    return plan
