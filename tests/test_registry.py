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
