"""The machine-readable contract encodes data-contract.md v1 and drives the data dictionary."""

from __future__ import annotations

from importlib import resources

from relapse_ml.schema import load_contract, render_data_dictionary


def test_committed_data_dictionary_matches_the_contract(pytestconfig):
    committed = pytestconfig.rootpath / "data_schema" / "data_dictionary.md"
    assert committed.read_text(encoding="utf-8") == render_data_dictionary(), (
        "data_schema/data_dictionary.md drifted: regenerate it with "
        "`relapse-ml schema --out data_schema/data_dictionary.md`"
    )


def test_contract_ships_inside_the_package():
    shipped = resources.files("relapse_ml.data_schema").joinpath("contract_v1.yaml")
    assert shipped.is_file()


def test_tables_columns_and_required_flags():
    contract = load_contract()
    assert contract.version == 1
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
