"""indicators.yaml: the four stated targets, its consistency checks and its error messages."""

from __future__ import annotations

import pytest
import yaml

from pipelines.declaration import registry
from pipelines.declaration.registry import ROOT, RegistryError


def test_the_four_stated_targets(reg):
    targets = {k.id: k.target for k in reg.kpis if k.target is not None}
    assert targets == {"councils_established": 5, "councils_strengthened": 2,
                       "authorities_supporting": 7, "migrants_reached": 1_000_000}


def test_project_calendar(reg):
    assert reg.project.grant == "101038656"
    assert reg.quarters[0] == "2021-Q4" and reg.quarters[-1] == "2023-Q4" and len(reg.quarters) == 9
    assert str(reg.due_date("2022-Q4")) == "2023-01-30"


def test_seven_countries_in_their_languages(reg):
    assert {(c.code, c.language) for c in reg.countries} == {
        ("AT", "de"), ("BG", "bg"), ("FR", "fr"), ("GR", "el"), ("HU", "hu"), ("IT", "it"), ("RO", "ro")}


def test_every_kpi_is_documented_and_mapped(reg):
    for kpi in reg.kpis:
        assert kpi.description and kpi.counting_rule and kpi.unit
        assert set(kpi.amif) == {"2021-2027", "2014-2020"}
        assert any(kpi.amif.values()), kpi.id


def test_every_label_and_help_is_in_every_language(reg):
    for sheet in reg.template.sheets:
        assert set(sheet.labels) == set(reg.languages)
        for f in sheet.fields:
            assert set(f.labels) == set(reg.languages), f.id
            assert set(f.help) == set(reg.languages), f.id
    for name, codes in reg.code_lists.items():
        for code, labels in codes.items():
            assert set(labels) == set(reg.languages), f"{name}.{code}"


def test_planned_values_scale_to_countries(reg):
    councils = reg.kpi("councils_established")
    assert reg.planned(councils, "2022-Q3") == 2
    assert reg.planned(councils, "2022-Q3", "BG") == 0  # 1 x 2/5, rounded down: whole councils
    assert reg.planned(councils, "2023-Q2", "BG") == 1
    reach = reg.kpi("migrants_reached")
    assert reg.planned(reach, "2022-Q3", "FR") == pytest.approx(330_000 * 0.18)


def broken(tmp_path, change) -> RegistryError:
    data = yaml.safe_load((ROOT / "indicators.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "indicators.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError) as info:
        registry.load(path)
    return info.value


def test_a_misspelt_key_is_named_with_a_hint(tmp_path):
    error = broken(tmp_path, lambda d: d["kpis"][0].update(trajectroy={}))
    assert "kpis.0.trajectroy" in str(error) and "check its spelling" in str(error)


def test_a_missing_key_is_named(tmp_path):
    error = broken(tmp_path, lambda d: d["project"].pop("grant"))
    assert "project.grant" in str(error) and "add this key" in str(error)


def test_country_shares_must_add_up_to_the_target(tmp_path):
    error = broken(tmp_path, lambda d: d["countries"][0]["targets"].update(migrants_reached=1))
    assert "kpis.migrants_reached.target" in str(error) and "add up to" in str(error)


def test_an_unknown_code_list_is_named(tmp_path):
    def change(d):
        d["template"]["sheets"][1]["fields"][3]["choices"] = "levels"
    assert "'levels' is not a code list" in str(broken(tmp_path, change))


def test_a_wrong_measure_names_the_allowed_values(tmp_path):
    error = broken(tmp_path, lambda d: d["kpis"][0].update(measure="stocks"))
    assert "kpis.0.measure" in str(error) and "'stock'" in str(error)


def contrast(colour: str, background: str = "#ffffff") -> float:
    """The WCAG 2 contrast ratio of two sRGB colours written #rrggbb."""
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted([luminance(colour), luminance(background)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_status_colour_reads_as_text_on_its_badge(reg):
    assert contrast("#b7791f") == pytest.approx(3.64, abs=0.01)  # the amber that did not
    ratios = {name: contrast(style.colour) for name, style in reg.status_rule.statuses.items()}
    assert set(ratios) == {"achieved", "on_track", "at_risk", "off_track", "no_target"}
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios  # WCAG AA, normal text


def test_reporting_periods_are_quarters_of_the_project(reg, tmp_path):
    assert [(p.name, p.first, p.last) for p in reg.export.reporting_periods] == [
        ("Interim report", "2021-Q4", "2022-Q4"), ("Final report", "2021-Q4", "2023-Q4")]
    error = str(broken(tmp_path, lambda d: d["export"]["reporting_periods"].append(
        {"name": "Late", "first": "2023-Q4", "last": "2024-Q1"})))
    assert "export.reporting_periods.2.last: '2024-Q1' is not a quarter of the project" in error
    error = str(broken(tmp_path, lambda d: d["export"]["reporting_periods"].append(
        {"name": "Backwards", "first": "2023-Q2", "last": "2022-Q4"})))
    assert "export.reporting_periods.2: it ends (2022-Q4) before it starts (2023-Q2)" in error


def test_one_off_figures_name_codes_of_the_flow_s_sheet(reg, tmp_path):
    assert reg.kpi("migrants_reached").one_off == {"channel": ["council_territory"]}

    def change(d):
        next(k for k in d["kpis"] if k["id"] == "migrants_reached")["one_off"] = {"channel": ["posters"]}
    assert "kpis.migrants_reached.one_off.channel: not a coded field" in str(broken(tmp_path, change))
    error = broken(tmp_path, lambda d: d["kpis"][0].update(one_off={"level": ["local"]}))
    assert "kpis.councils_established.one_off: only a flow" in str(error)
