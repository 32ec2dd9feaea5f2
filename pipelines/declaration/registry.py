"""The typed model of indicators.yaml: load it once, fail early with the key at fault and a hint."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines import ROOT
from pipelines.declaration import quarters

DEFAULT_PATH = ROOT / "indicators.yaml"

Labels = dict[str, str]
# The cover (the one form sheet) names the workbook's country, quarter and partner organisation
# in fields of these ids and types: the monitor's own vocabulary, whatever the project.
COVER_FIELDS = {"country": "country", "quarter": "quarter", "partner": "partner"}


def said(labels: Labels, lang: str) -> str:
    """A declared text in a language, else in English (the coordination's language)."""
    return labels.get(lang) or labels["en"]


class RegistryError(Exception):
    """indicators.yaml is malformed; the message names the key and says what was expected."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reminders(Strict):
    """When partners are e-mailed about a quarter's workbook none of them has sent
    (pipelines/notify): a reminder this many days before it is due, then an overdue notice every
    so many days after."""

    days_before_due: int = Field(default=7, ge=0)
    overdue_every_days: int = Field(default=7, ge=1)


class Project(Strict):
    name: str
    acronym: str
    grant: str
    fund: str
    fund_labels: Labels = {}  # the fund's name in the partners' languages, for the dashboard
    start: dt.date
    end: dt.date
    reporting: Literal["quarterly"]
    due_days_after_quarter: int = Field(ge=0)
    reminders: Reminders = Reminders()
    template_version: str
    known_template_versions: list[str]

    def fund_in(self, lang: str) -> str:
        return said({"en": self.fund, **self.fund_labels}, lang)


class StatusStyle(Strict):
    label: str
    labels: Labels = {}  # the label in the partners' languages
    colour: str
    symbol: str

    def said(self, lang: str) -> str:
        return said({"en": self.label, **self.labels}, lang)


class Fact(Strict):
    """A fact shown on a country's page, e.g. Council: new council in Graz, in each language."""

    label: Labels
    text: Labels


class StatusRule(Strict):
    at_risk_ratio: float = Field(gt=0, le=1)
    statuses: dict[
        Literal["achieved", "on_track", "at_risk", "off_track", "no_target"], StatusStyle
    ]


class Country(Strict):
    code: str = Field(pattern=r"^[A-Z]{2}$")
    name: str
    partners: list[str] = Field(min_length=1)
    # consolidated: one workbook for the country each quarter, whoever of its partners sends it;
    # per_partner: one workbook per partner organisation, each with its own versions
    reporting: Literal["consolidated", "per_partner"] = "consolidated"
    place: str
    language: str
    facts: list[Fact] = []  # shown on the country's page
    lat: float
    lon: float
    targets: dict[str, float]


class Entity(Strict):
    sheet: str
    key: str
    status_field: str
    statuses: list[str]
    progression: dict[str, int]
    explanation_field: str

    @model_validator(mode="after")
    def _ranked(self) -> Entity:
        if set(self.progression) != set(self.statuses):
            raise ValueError("progression must give a rank to every status, and only to them")
        return self


class Reference(Strict):
    sheet: str
    field: str
    entity: str


class OutlierField(Strict):
    sheet: str
    field: str
    by: str | None = None


class Outliers(Strict):
    factor: float = Field(gt=1)
    min_quarters: int = Field(ge=1)
    fields: list[OutlierField]


class KpiSource(Strict):
    """A stock counts entities whose latest status qualifies; a flow sums a field of a sheet;
    `register_count` counts the participant registers' rows (people counted once)."""

    entity: str | None = None
    where: dict[str, str | list[str]] = {}
    qualifying: list[str] = []
    sheet: str | None = None
    value: str | None = None
    register_count: Literal["participations", "unique_participants"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> KpiSource:
        if [bool(self.entity), bool(self.sheet and self.value), bool(self.register_count)].count(True) != 1:
            raise ValueError(
                "give either `entity` with `qualifying` statuses (a stock), `sheet` with a "
                "`value` field (a flow) or `register_count` (people in the participant registers)"
            )
        return self


class AmifRef(Strict):
    ref: str
    wording: str
    wordings: Labels = {}  # the indicator's official wording in the partners' languages
    value: str | None = None  # a field of the KPI's source sheet this indicator sums instead

    def said(self, lang: str) -> str:
        return said({"en": self.wording, **self.wordings}, lang)


class KpiWords(Strict):
    """A KPI's texts in one of the partners' languages; a text not given shows in English."""

    label: str | None = None
    unit: str | None = None
    description: str | None = None
    counting_rule: str | None = None


class Kpi(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    description: str
    unit: str
    measure: Literal["stock", "flow", "people"]  # people: distinct persons up to the as-of quarter
    # what is counted: entities with a status, an estimate of indirect reach, participations (a
    # person in two activities counts twice) or unique participants (each person once)
    count: Literal["entities", "estimate", "participations", "unique_participants"]
    counting_rule: str
    source: KpiSource
    target: float | None
    trajectory: dict[str, float]
    disaggregations: list[str]
    amif: dict[str, list[AmifRef]] = {}  # the EU indicators it maps to, by framework
    # a flow's figures reported once, not a pace that recurs: rows of its sheet whose coded field
    # has one of these codes, {field: [codes]} (e.g. the migrants in a council's territory)
    one_off: dict[str, list[str]] = {}
    translations: dict[str, KpiWords] = {}  # language -> its texts (the English ones above)

    def said(self, part: Literal["label", "unit", "description", "counting_rule"], lang: str) -> str:
        """One of the KPI's texts in a language, else in English."""
        words = self.translations.get(lang)
        return (getattr(words, part) if words else None) or getattr(self, part)


class SheetField(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: Literal["text", "integer", "date", "choice", "country", "quarter", "partner"]
    required: bool = False
    locked: bool = False
    key: bool = False
    in_quarter: bool = False  # a date that must fall inside the quarter reported
    # free text addressed to the coordination (it may name people): kept out of the EU export
    internal: bool = False
    # a figure of an entity's row reported for its quarter only ("meetings this quarter"): the
    # export sums it over the period, where the entity's other fields are its latest report
    per_quarter: bool = False
    # what a cover field tells the monitor: who reported, the date it was sent, remarks
    role: Literal["reported_by", "submitted_on", "notes"] | None = None
    choices: str | None = None
    min: float | None = None
    labels: Labels
    help: Labels

    def label(self, lang: str) -> str:
        return said(self.labels, lang)


class Sheet(Strict):
    id: str
    layout: Literal["form", "table"]
    labels: Labels
    fields: list[SheetField]

    def label(self, lang: str) -> str:
        return said(self.labels, lang)

    def field(self, field_id: str) -> SheetField:
        return next(f for f in self.fields if f.id == field_id)

    @property
    def key(self) -> str | None:
        return next((f.id for f in self.fields if f.key), None)


class SumRule(Strict):
    sheet: str
    total: str
    parts: list[str]
    label: str  # the breakdown's id, e.g. sex
    labels: Labels = {}  # the breakdown's name in each language, for the messages

    def name(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.label


class NotAboveRule(Strict):
    sheet: str
    field: str
    limit: str


class Reconcile(Strict):
    """How a register compares with the aggregate sheet: participations per activity against
    its total, and per coded value against the column that counts it."""

    sheet: str
    key: str
    total: str
    parts: dict[str, dict[str, str]]  # register field -> {code: field of the aggregate sheet}


class Register(Strict):
    """The participant register: its sheet (also the columns of a CSV or Parquet register)."""

    code: str  # the field replaced by its keyed hash on ingest, never stored
    activity: str
    max_rows: int = Field(gt=0)
    reconcile: Reconcile
    sheet: Sheet


class ExportSheet(Strict):
    """A detail sheet of the EU export pack: an entity sheet (one row per entity, its latest
    report) or a flow sheet, listed row by row or, with `per_country`, summed per country."""

    sheet: str
    title: str | None = None  # default: the sheet's English label
    description: str | None = None  # the pack's README line for it
    per_country: bool = False


class ReportingPeriod(Strict):
    """A period the grant reports on (e.g. the interim report), offered on the EU export page."""

    name: str
    first: str
    last: str


class Export(Strict):
    """The EU export pack. `framework` names the indicators' sheet ("AMIF indicators"); `sheets`
    are its detail sheets, by default every entity sheet and then every flow KPI's sheet;
    `reporting_periods` the grant's reporting periods, first and last quarter of each."""

    framework: str = "AMIF"
    sheets: list[ExportSheet] | None = None
    reporting_periods: list[ReportingPeriod] = []


class Template(Strict):
    total_labels: list[str]  # a data row whose first text is one of these is a totals row
    instructions_title: Labels
    instructions: Labels
    sheets: list[Sheet]


class Registry(Strict):
    project: Project
    languages: list[str]
    status_rule: StatusRule
    countries: list[Country]
    entities: dict[str, Entity]
    kpis: list[Kpi]
    code_lists: dict[str, dict[str, Labels]]
    references: list[Reference]
    outliers: Outliers
    sums: list[SumRule]
    not_above: list[NotAboveRule]
    template: Template
    participant_register: Register | None = None  # a project without registers has no unique counts
    export: Export = Export()

    # ---- lookups -------------------------------------------------------------------------
    @property
    def quarters(self) -> list[str]:
        """The reporting quarters of the project period, first to last."""
        return quarters.between(self.project.start, self.project.end)

    def quarter(self, text: str, what: str = "quarter") -> str:
        """A quarter typed by a user ("2022-q3 "), checked once at the edge: its canonical form
        ("2022-Q3"), or ValueError saying what is wrong. Queries trust what this returns."""
        year, number = quarters.parse(text)
        quarter = f"{year}-Q{number}"
        if quarter not in self.quarters:
            span = f"{self.quarters[0]} to {self.quarters[-1]}"
            raise ValueError(f"{what} {quarter} is outside the project period ({span})")
        return quarter

    def country(self, code: str) -> Country:
        for country in self.countries:
            if country.code == code:
                return country
        known = ", ".join(c.code for c in self.countries)
        raise KeyError(f"unknown country {code!r}; the project's countries are {known}")

    def per_partner(self, country: str) -> bool:
        """Whether the country sends one workbook per partner organisation (not one in all)."""
        return any(c.code == country and c.reporting == "per_partner" for c in self.countries)

    def reporter(self, country: str, partner: object) -> str:
        """The organisation in a submission's key: the cover's partner where the country reports
        per partner organisation, '' where it sends one consolidated workbook."""
        return partner.strip() if self.per_partner(country) and isinstance(partner, str) else ""

    @property
    def cover(self) -> Sheet:
        """The form sheet: the country, quarter and partner of the workbook (COVER_FIELDS)."""
        return next(s for s in self.template.sheets if s.layout == "form")

    def cover_field(self, role: str) -> str | None:
        """The id of the cover's field with a role (reported_by, submitted_on, notes), if any."""
        return next((f.id for f in self.cover.fields if f.role == role), None)

    @property
    def all_sheets(self) -> list[Sheet]:
        """The template's sheets, and the participant register's where the project has one."""
        register = self.participant_register
        return [*self.template.sheets, *([register.sheet] if register else [])]

    def sheet(self, sheet_id: str) -> Sheet:
        return next(s for s in self.all_sheets if s.id == sheet_id)

    def entity_of(self, sheet_id: str) -> str | None:
        """The entity kind whose sheet this is, if any."""
        return next((name for name, e in self.entities.items() if e.sheet == sheet_id), None)

    def flow_sheets(self) -> list[str]:
        """The sheets whose figures flow KPIs sum, in the order of the KPIs."""
        return list(dict.fromkeys(k.source.sheet for k in self.kpis if k.source.sheet))

    def export_sheets(self) -> list[ExportSheet]:
        """The export pack's detail sheets: as declared, or every entity sheet then every flow
        KPI's sheet."""
        if self.export.sheets is not None:
            return self.export.sheets
        named = [e.sheet for e in self.entities.values()] + self.flow_sheets()
        return [ExportSheet(sheet=s) for s in dict.fromkeys(named)]

    def kpi(self, kpi_id: str) -> Kpi:
        return next(k for k in self.kpis if k.id == kpi_id)

    def due_date(self, quarter: str) -> dt.date:
        return quarters.last_day(quarter) + dt.timedelta(days=self.project.due_days_after_quarter)

    def target(self, kpi: Kpi, country: str | None = None) -> float | None:
        if kpi.target is None or country is None:
            return kpi.target
        return self.country(country).targets.get(kpi.id, 0)

    def planned(self, kpi: Kpi, quarter: str, country: str | None = None) -> float | None:
        """Planned value at a quarter: the trajectory, scaled to a country's share of the target.

        Before the first planned quarter the plan is 0; after the last it stays at its last value.
        Stocks are whole entities, so a country's planned stock is rounded down.
        """
        if kpi.target is None or not kpi.trajectory:
            return None
        reached = [v for q, v in sorted(kpi.trajectory.items()) if q <= quarter]
        overall = reached[-1] if reached else 0.0
        if country is None:
            return overall
        share = self.target(kpi, country) * overall / kpi.target if kpi.target else 0.0
        return math.floor(share + 1e-9) if kpi.measure == "stock" else share

    # ---- consistency across keys ---------------------------------------------------------
    @model_validator(mode="after")
    def _consistent(self) -> Registry:
        problems: list[str] = []
        sheet_ids = {s.id for s in self.template.sheets}
        fields = {s.id: {f.id for f in s.fields} for s in self.template.sheets}
        if "en" not in self.languages:
            problems.append("languages: must include en, the coordination's language")
        for name, country in ((c.code, c) for c in self.countries):
            if country.language not in self.languages:
                problems.append(
                    f"countries.{name}.language: {country.language!r} is not in languages"
                )
        for sheet in self.all_sheets:
            for f in sheet.fields:
                where = f"template.sheets.{sheet.id}.fields.{f.id}"
                if f.type == "choice" and f.choices not in self.code_lists:
                    problems.append(f"{where}.choices: {f.choices!r} is not a code list")
                if "en" not in f.labels:
                    problems.append(f"{where}.labels: needs an `en` label")
        for name, entity in self.entities.items():
            if entity.sheet not in sheet_ids or entity.key not in fields[entity.sheet]:
                problems.append(
                    f"entities.{name}: sheet/key {entity.sheet}.{entity.key} not in template"
                )
        for where, given in self._translated():
            unknown = sorted(set(given) - set(self.languages))
            if unknown:
                problems.append(f"{where}: {unknown} not in languages")
        for country in self.countries:
            if any("en" not in f.label or "en" not in f.text for f in country.facts):
                problems.append(f"countries.{country.code}.facts: each label and text needs `en`")
        kpi_ids = [k.id for k in self.kpis]
        if len(set(kpi_ids)) != len(kpi_ids):
            problems.append("kpis: ids must be unique")
        valid_quarters = set(self.quarters)
        for kpi in self.kpis:
            where = f"kpis.{kpi.id}"
            src = kpi.source
            if src.entity and src.entity not in self.entities:
                problems.append(f"{where}.source.entity: {src.entity!r} is not an entity")
            if src.sheet and (src.sheet not in sheet_ids or src.value not in fields[src.sheet]):
                problems.append(f"{where}.source: {src.sheet}.{src.value} is not a template field")
            for q in kpi.trajectory:
                if q not in valid_quarters:
                    problems.append(f"{where}.trajectory: {q!r} is outside the project period")
            problems += self._one_off_problems(kpi)
            if kpi.target is not None:
                shares = sum(c.targets.get(kpi.id, 0) for c in self.countries)
                if not math.isclose(shares, kpi.target):
                    problems.append(
                        f"{where}.target: {kpi.target:g} but the countries' targets add up to "
                        f"{shares:g}; make countries.*.targets.{kpi.id} add up to the target"
                    )
        for country in self.countries:
            for kpi_id in country.targets:
                if kpi_id not in kpi_ids:
                    problems.append(f"countries.{country.code}.targets: {kpi_id!r} is not a KPI id")
        for ref in self.references:
            if ref.entity not in self.entities or ref.field not in fields.get(ref.sheet, set()):
                problems.append(f"references: {ref.sheet}.{ref.field} -> {ref.entity} is unknown")
        for rule in [*self.sums, *self.not_above]:
            named = (
                [rule.total, *rule.parts] if isinstance(rule, SumRule) else [rule.field, rule.limit]
            )
            missing = [n for n in named if n not in fields.get(rule.sheet, set())]
            if missing:
                problems.append(f"sums/not_above on {rule.sheet}: unknown fields {missing}")
        problems += self._cover_problems()
        for i, shown in enumerate(self.export.sheets or []):
            if shown.sheet not in sheet_ids:
                problems.append(f"export.sheets.{i}.sheet: {shown.sheet!r} is not a template sheet")
        problems += self._period_problems()
        problems += self._register_problems(fields)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _translated(self) -> Iterator[tuple[str, dict]]:
        """(key, its texts by language) of every declared text given in other languages."""
        yield "project.fund_labels", self.project.fund_labels
        for name, style in self.status_rule.statuses.items():
            yield f"status_rule.statuses.{name}.labels", style.labels
        for kpi in self.kpis:
            yield f"kpis.{kpi.id}.translations", kpi.translations
            for framework, refs in kpi.amif.items():
                for i, ref in enumerate(refs):
                    yield f"kpis.{kpi.id}.amif.{framework}.{i}.wordings", ref.wordings

    def _one_off_problems(self, kpi: Kpi) -> list[str]:
        """A KPI's one-off figures are rows of its flow's sheet picked by coded values."""
        if kpi.one_off and not kpi.source.sheet:
            return [f"kpis.{kpi.id}.one_off: only a flow (source.sheet) has one-off figures"]
        problems = []
        sheet = next((s for s in self.all_sheets if s.id == kpi.source.sheet), None)
        for name, codes in kpi.one_off.items():
            field = next((f for f in sheet.fields if f.id == name), None) if sheet else None
            known = self.code_lists.get(field.choices or "", {}) if field else {}
            if field is None or field.type != "choice" or not set(codes) <= set(known):
                problems.append(f"kpis.{kpi.id}.one_off.{name}: not a coded field of sheet "
                                f"{kpi.source.sheet}, or codes not in its code list")
        return problems

    def _period_problems(self) -> list[str]:
        """Each reporting period runs from a project quarter to the same or a later one."""
        problems = []
        for i, period in enumerate(self.export.reporting_periods):
            where = f"export.reporting_periods.{i}"
            for end in ("first", "last"):
                if getattr(period, end) not in self.quarters:
                    problems.append(f"{where}.{end}: {getattr(period, end)!r} is not a quarter of the "
                                    f"project ({self.quarters[0]} to {self.quarters[-1]})")
            if period.first > period.last:
                problems.append(f"{where}: it ends ({period.last}) before it starts ({period.first})")
        return problems

    def _cover_problems(self) -> list[str]:
        forms = [s.id for s in self.template.sheets if s.layout == "form"]
        if len(forms) != 1:
            return [f"template.sheets: needs exactly one sheet with layout form (the cover), not {forms}"]
        types = {f.id: f.type for f in self.cover.fields}
        return [f"template.sheets.{forms[0]}.fields: needs a field {name!r} of type {kind}"
                for name, kind in COVER_FIELDS.items() if types.get(name) != kind]

    def _register_problems(self, fields: dict[str, set[str]]) -> list[str]:
        reg, problems = self.participant_register, []
        if reg is None:
            return problems
        own = {f.id: f for f in reg.sheet.fields}
        for name in (reg.code, reg.activity):
            if name not in own:
                problems.append(f"participant_register: {name!r} is not a field of register.sheet")
        rec = reg.reconcile
        named = [rec.key, rec.total, *(c for p in rec.parts.values() for c in p.values())]
        missing = [n for n in named if n not in fields.get(rec.sheet, set())]
        if missing:
            problems.append(f"participant_register.reconcile: {rec.sheet} has no fields {missing}")
        for name, codes in rec.parts.items():
            f = own.get(name)
            if f is None or f.choices not in self.code_lists or not set(codes) <= set(
                    self.code_lists[f.choices]):
                problems.append(f"participant_register.reconcile.parts.{name}: not a coded register field "
                                "or codes not in its code list")
        return problems


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    hints = {
        "missing": "add this key",
        "extra_forbidden": "unknown key: check its spelling or remove it",
        "literal_error": "use one of the values named",
    }
    hint = hints.get(error["type"], "")
    return f"  {where}: {error['msg']}" + (f" ({hint})" if hint else "")


def load(path: Path | str | None = None) -> Registry:
    """Read and check indicators.yaml (or MVH_INDICATORS, or the path given)."""
    path = Path(path or os.environ.get("MVH_INDICATORS") or DEFAULT_PATH)
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader  # libyaml: 5x faster
    try:
        text = path.read_text(encoding="utf-8")
        try:
            raw = yaml.load(text, Loader=loader)
        except yaml.YAMLError:
            raw = yaml.safe_load(text)  # fails again, its message quoting the line at fault
    except FileNotFoundError as exc:
        raise RegistryError(f"{path} not found; the monitor needs its indicators.yaml") from exc
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return Registry.model_validate(raw)
    except ValidationError as exc:
        lines = "\n".join(_describe(e) for e in exc.errors())
        raise RegistryError(f"{path} has {exc.error_count()} problem(s):\n{lines}") from None


@cache
def get() -> Registry:
    """The registry of this process, loaded once."""
    return load()
