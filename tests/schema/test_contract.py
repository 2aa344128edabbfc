"""The machine-readable contract encodes data-contract.md v2 and drives the data dictionary."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from relapse_ml.schema import load_contract, render_data_dictionary
from relapse_ml.schema._contract import contract_text, parse_contract


def test_committed_data_dictionary_matches_the_contract(pytestconfig):
    committed = pytestconfig.rootpath / "data_schema" / "data_dictionary.md"
    assert committed.read_text(encoding="utf-8") == render_data_dictionary(), (
        "data_schema/data_dictionary.md drifted: regenerate it with "
        "`relapse-ml schema --out data_schema/data_dictionary.md`"
    )


def test_contract_ships_inside_the_package():
    shipped = resources.files("relapse_ml.data_schema").joinpath("contract.yaml")
    assert shipped.is_file()
    assert not resources.files("relapse_ml.data_schema").joinpath("contract_v1.yaml").is_file()


def test_tables_columns_and_required_flags():
    contract = load_contract()
    assert contract.version == 2
    assert set(contract.tables) == {"patients", "measurements", "outcomes"}
    assert contract.patients.required_columns == (
        "patient_id",
        "disease",
        "target_antigen",
        "costim_domain",
        "age_years",
    )
    assert contract.measurements.required_columns == (
        "patient_id",
        "day",
        "marker",
        "value",
        "unit",
    )
    assert contract.outcomes.required_columns == ("patient_id", "relapse", "time_days")
    assert len(contract.patients.columns) == 31


def test_version_2_adds_death_without_relapse_as_an_optional_boolean():
    outcomes = load_contract().outcomes
    assert outcomes.column_names == (
        "patient_id",
        "relapse",
        "time_days",
        "relapse_antigen",
        "death_without_relapse",
    )
    death = outcomes.column("death_without_relapse")
    assert (death.dtype, death.required) == ("boolean", False)
    assert "never true together with relapse" in death.description
    assert "death_without_relapse" not in outcomes.required_columns
    assert "else to death when death_without_relapse is true" in (
        outcomes.column("time_days").description
    )


def test_task_defaults_keep_the_primary_day_and_list_every_landmark_and_horizon():
    contract = load_contract()
    assert (contract.default_landmark_day, contract.default_horizon_days) == (28, 365)
    assert contract.default_landmarks_days == (28, 90, 180)
    assert contract.default_horizons_days == (180, 365, 730)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("default_landmarks_days", [90, 180], "must include the primary day 28"),
        ("default_horizons_days", [730, 365], "ascending without repeats"),
        ("default_horizons_days", [180, 365, 365], "ascending without repeats"),
        ("default_landmarks_days", [28, 90.5], "list of whole days"),
        ("default_horizons_days", 365, "list of whole days"),
    ],
)
def test_a_contract_with_broken_task_days_is_refused(key, value, message):
    document = yaml.safe_load(contract_text())
    document["task"][key] = value
    with pytest.raises(ValueError, match=message):
        parse_contract(document)


def test_values_known_after_day_zero_are_the_toxicity_columns():
    contract = load_contract()
    late = {
        c.name: c.available_from_day
        for c in contract.patients.columns
        if (c.available_from_day or 0) > 0
    }
    assert late == {"crs_grade": 14, "icans_grade": 14, "tocilizumab": 14, "steroid_dex_mg": 14}
    assert "crs_grade" not in contract.patient_columns_available_at(13)
    assert "crs_grade" in contract.patient_columns_available_at(14)


def test_marker_catalogue_units_and_groups():
    contract = load_contract()
    assert len(contract.markers) == 17
    assert contract.markers["car_transgene"].unit == "copies/ug"
    assert contract.markers["antigen_density"].unit == "molecules/cell"
    assert contract.markers["il6_pg_ml"].group == "clinical"
    assert contract.markers["il10_pg_ml"].group == "tme"
    assert {m.group for m in contract.markers.values()} <= set(contract.groups)
    assert contract.groups == ("antigen", "exhaustion", "persistence", "tme", "clinical")


def test_patient_column_groups_follow_the_contract():
    contract = load_contract()
    group = {c.name: c.group for c in contract.patients.columns}
    assert {n for n, g in group.items() if g == "antigen"} == {
        "antigen_pos_pct",
        "antigen_density",
        "antigen_splice_variant_pct",
        "marrow_blasts_pct",
        "metabolic_tumor_volume_ml",
        "ldh_u_per_l",
    }
    assert {n for n, g in group.items() if g == "exhaustion"} == {
        "product_pd1_pct",
        "product_tim3_pct",
        "product_lag3_pct",
    }
    assert {n for n, g in group.items() if g == "persistence"} == {
        "product_memory_pct",
        "product_cd4_cd8_ratio",
        "car_dose_per_kg",
        "costim_domain",
    }
    assert {n for n, g in group.items() if g == "tme"} == {
        "treg_pct_cd4",
        "mdsc_pct_pbmc",
        "tgfb_pg_ml",
        "il10_pg_ml",
    }


# The numeric patient columns' ranges of shared/spec/data-contract.md, exactly.
SPEC_PATIENT_MAXIMA = {
    "age_years": 100,
    "prior_lines": 20,
    "ldh_u_per_l": 20000,
    "marrow_blasts_pct": 100,
    "metabolic_tumor_volume_ml": 10000,
    "car_dose_per_kg": 1e9,
    "product_cd4_cd8_ratio": 100,
    "product_memory_pct": 100,
    "product_pd1_pct": 100,
    "product_tim3_pct": 100,
    "product_lag3_pct": 100,
    "vein_to_vein_days": 365,
    "antigen_pos_pct": 100,
    "antigen_density": 1e6,
    "antigen_splice_variant_pct": 100,
    "treg_pct_cd4": 100,
    "mdsc_pct_pbmc": 100,
    "tgfb_pg_ml": 100000,
    "il10_pg_ml": 100000,
    "crs_grade": 5,
    "icans_grade": 5,
    "steroid_dex_mg": 5000,
}


def test_every_numeric_patient_column_has_the_spec_maximum_and_its_source():
    numeric = [c for c in load_contract().patients.columns if c.dtype in ("number", "integer")]
    assert {c.name: float(c.maximum) for c in numeric} == SPEC_PATIENT_MAXIMA
    for column in numeric:
        assert column.maximum_source and len(column.maximum_source) > 20, column.name


def test_every_marker_has_a_plausible_maximum_and_its_source():
    contract = load_contract()
    maxima = {m.name: m.maximum for m in contract.markers.values()}
    assert maxima == {
        "car_transgene": 1e7,
        "car_t_cells": 5e6,
        "b_cells": 5e6,
        "pd1_pct_car": 100,
        "tim3_pct_car": 100,
        "lag3_pct_car": 100,
        "pd1_tim3_pct_car": 100,
        "antigen_pos_pct": 100,
        "antigen_density": 1e6,
        "mrd_pct": 100,
        "il6_pg_ml": 1e7,
        "il10_pg_ml": 1e7,
        "tgfb_pg_ml": 1e7,
        "treg_pct_cd4": 100,
        "mdsc_pct_pbmc": 100,
        "ferritin_ng_ml": 1e6,
        "crp_mg_l": 2000,
    }
    for marker in contract.markers.values():
        assert marker.maximum_source and len(marker.maximum_source) > 20, marker.name
        if marker.unit == "%":
            assert marker.maximum == 100 and "percentage" in marker.maximum_source
    # The same quantity is bounded the same way before and after infusion.
    assert maxima["antigen_density"] == contract.patients.column("antigen_density").maximum
    # Generous enough for the published extremes (domain.md), tight enough for absurd ones.
    assert maxima["ferritin_ng_ml"] > 100_000 and maxima["il6_pg_ml"] > 750_000
    assert maxima["car_transgene"] > 24_000 and maxima["car_transgene"] < 1e12


@pytest.mark.parametrize(
    ("path", "key", "message"),
    [
        (("markers", 0), "max", "marker 'car_transgene' needs a positive plausible maximum"),
        (("markers", 3), "max_source", "marker 'pd1_pct_car' needs max_source"),
        (("tables", "patients", "columns", 6), "max", "patients.age_years needs a positive"),
        (("tables", "patients", "columns", 6), "max_source", "patients.age_years needs max_source"),
    ],
)
def test_a_contract_without_a_maximum_or_its_source_is_refused(path, key, message):
    document = yaml.safe_load(contract_text())
    entry = document
    for step in path:
        entry = entry[step]
    del entry[key]
    with pytest.raises(ValueError, match=message):
        parse_contract(document)


def test_data_dictionary_shows_each_maximum_and_its_source():
    text = render_data_dictionary()
    assert "| marker | unit | plausible maximum | mechanism group | what it is | source |" in text
    contract = load_contract()
    for marker in contract.markers.values():
        assert f"| `{marker.name}` | `{marker.unit}` | {marker.maximum:g} |" in text
        assert marker.maximum_source in text
    for column in contract.patients.columns:
        if column.dtype in ("number", "integer"):
            assert f"| `{column.name}` | {column.maximum:g} | " in text
            assert column.maximum_source in text


def test_data_dictionary_states_version_2_the_new_column_and_its_rule():
    text = render_data_dictionary()
    assert text.startswith("# Data dictionary (contract version 2)\n")
    assert "from `data_schema/contract.yaml`" in text
    [row] = [line for line in text.splitlines() if line.startswith("| `death_without_relapse` |")]
    assert row.startswith("| `death_without_relapse` | boolean |")
    assert "| no |" in row and "never true together with relapse" in row
    assert "landmark days 28, 90, 180 (default 28)" in text
    assert "horizons 180, 365, 730 days after infusion (default 365)" in text
