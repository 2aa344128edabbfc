"""Hand-computed expected values for every feature on three tiny patients (L = 28)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from relapse_ml.features import LandmarkFeatures, attach_measurements

NAN = math.nan
LN = math.log

# A: car_transgene (0,"<5"->2.5) (3,100) (7, mean(1000,1200)=1100) (10,400) (14,200); day 35 after L.
#    AUC = 3*(2.5+100)/2 + 4*(100+1100)/2 + 3*(1100+400)/2 + 4*(400+200)/2 = 6003.75
# B: car_transgene (5,50) (28,"<5"->2.5): AUC = 5*50/2 (from (0,0)) + 23*(50+2.5)/2 = 728.75
EXPECTED = {
    "car_measured_by_landmark": (1, 1, 0),
    "car_cmax": (1100, 50, NAN),
    "car_tmax_day": (7, 5, NAN),
    "car_auc_0_28": (6003.75, 728.75, NAN),
    "car_auc_0_28_log": (math.log10(6004.75), math.log10(729.75), NAN),
    "car_level_at_landmark": (200, 2.5, NAN),
    "car_last_obs_day": (14, 28, NAN),
    "car_fold_expansion": (440, 1, NAN),
    "car_contraction_rate_per_day": (LN(5.5) / 7, LN(20) / 23, NAN),
    "car_detectable_at_landmark": (1, 0, NAN),
    "car_cells_measured_by_landmark": (1, 0, 0),
    "car_cells_cmax": (20, NAN, NAN),
    "car_cells_tmax_day": (7, NAN, NAN),
    "car_cells_auc_0_28": (7 * 20 / 2 + 7 * 30 / 2, NAN, NAN),
    "car_cells_auc_0_28_log": (math.log10(176), NAN, NAN),
    "car_cells_level_at_landmark": (10, NAN, NAN),
    "car_cells_last_obs_day": (14, NAN, NAN),
    "car_cells_fold_expansion": (1, NAN, NAN),
    "car_cells_contraction_rate_per_day": (LN(2) / 7, NAN, NAN),
    "car_cells_detectable_at_landmark": (1, NAN, NAN),
    # A: b_cells day -5 ignored; (0,100) (7,"<1") (14,3) (21,50) (28,5); threshold 10
    "b_cells_measured_by_landmark": (1, 1, 0),
    "b_cells_at_landmark": (5, 2, NAN),
    "b_cell_aplasia_at_landmark": (1, 1, NAN),
    "b_cell_aplasia_achieved": (1, 1, NAN),
    "b_cell_recovered_by_landmark": (1, 0, NAN),
    "b_cell_recovery_day": (21, NAN, NAN),
    "costim_domain": ("4-1BB", "CD28", "4-1BB"),
    "car_dose_per_kg_log10": (6, NAN, NAN),
    "product_cd4_cd8_ratio": (1.5, NAN, NAN),
    "product_memory_pct": (30, NAN, NAN),
    # exhaustion: A peak day 7 -> pd1 nearest day 8 (distance 1); lag3 at day 11 is 4 days away
    "product_pd1_pct": (5, NAN, NAN),
    "product_tim3_pct": (6, NAN, NAN),
    "product_lag3_pct": (7, NAN, NAN),
    "pd1_pct_car_at_car_peak": (20, NAN, NAN),
    "pd1_pct_car_at_landmark": (40, NAN, NAN),
    "pd1_pct_car_trend_per_day": (55 / 31, NAN, NAN),  # (5,10) (8,20) (21,40): 2310/1302
    "tim3_pct_car_at_car_peak": (NAN, 30, NAN),  # B peak day 5: days 4 and 6 tie, earlier wins
    "tim3_pct_car_at_landmark": (NAN, 50, NAN),
    "tim3_pct_car_trend_per_day": (NAN, 10, NAN),
    "lag3_pct_car_at_car_peak": (NAN, NAN, NAN),
    "lag3_pct_car_at_landmark": (15, NAN, NAN),
    "lag3_pct_car_trend_per_day": (NAN, NAN, NAN),
    "pd1_tim3_pct_car_at_car_peak": (NAN, NAN, NAN),
    "pd1_tim3_pct_car_at_landmark": (NAN, NAN, NAN),
    "pd1_tim3_pct_car_trend_per_day": (NAN, NAN, NAN),
    # antigen: thresholds CD19 B-ALL 2000, CD19 LBCL 3000; C has no density
    "ldh_u_per_l_log10": (3, NAN, NAN),
    "marrow_blasts_pct_log10": (1, NAN, NAN),
    "metabolic_tumor_volume_ml_log10": (NAN, 2, NAN),
    "antigen_pos_pct": (95, NAN, NAN),
    "antigen_density": (1500, 6000, NAN),
    "antigen_splice_variant_pct": (10, NAN, NAN),
    "antigen_density_ratio_to_threshold": (0.75, 2, NAN),
    "antigen_density_below_threshold": (1, 0, NAN),
    "residual_antigen_pos_pct_at_landmark": (NAN, 20, NAN),
    "residual_antigen_density_at_landmark": (NAN, 800, NAN),
    "mrd_measured_by_landmark": (1, 1, 0),
    "mrd_pct_at_landmark": (0.005, 2, NAN),  # "<0.01" -> 0.01/2
    "mrd_positive_at_landmark": (0, 1, NAN),
    "antigen_negative_residual_disease_at_landmark": (0, 1, NAN),
    # tme
    "treg_pct_cd4": (4, NAN, NAN),
    "mdsc_pct_pbmc": (2, NAN, NAN),
    "tgfb_pg_ml": (80, NAN, NAN),
    "il10_pg_ml": (7, NAN, NAN),
    "il10_pg_ml_max_0_28": (30, NAN, NAN),
    "il10_pg_ml_at_landmark": (5, NAN, NAN),
    "tgfb_pg_ml_max_0_28": (NAN, NAN, NAN),
    "tgfb_pg_ml_at_landmark": (NAN, NAN, NAN),
    "treg_pct_cd4_max_0_28": (NAN, NAN, NAN),
    "treg_pct_cd4_at_landmark": (NAN, NAN, NAN),
    "mdsc_pct_pbmc_max_0_28": (NAN, NAN, NAN),
    "mdsc_pct_pbmc_at_landmark": (NAN, NAN, NAN),
    # clinical: il6 day 2 replicates 300/500 average to 400; crp only after L
    "disease": ("B-ALL", "LBCL", "MM"),
    "target_antigen": ("CD19", "CD19", "BCMA"),
    "age_years": (12, 61, 70),
    "sex": ("F", NAN, NAN),
    "prior_lines": (2, NAN, NAN),
    "bridging_therapy": (1, 0, NAN),
    "vein_to_vein_days": (40, NAN, NAN),
    "crs_grade": (3, NAN, NAN),
    "icans_grade": (1, NAN, NAN),
    "tocilizumab": (1, NAN, NAN),
    "steroid_dex_mg": (40, NAN, NAN),
    "il6_pg_ml_max_0_28": (400, NAN, NAN),
    "ferritin_ng_ml_max_0_28": (NAN, NAN, NAN),
    "crp_mg_l_max_0_28": (NAN, NAN, NAN),
}


@pytest.fixture
def features(tiny) -> pd.DataFrame:
    patients, measurements = tiny
    X = attach_measurements(patients, measurements)
    return LandmarkFeatures(landmark_day=28).set_output(transform="pandas").fit_transform(X)


def test_every_feature_is_checked(features):
    assert sorted(features.columns) == sorted(EXPECTED)
    assert len(features.columns) == len(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_hand_computed_value(features, name):
    got = features[name].tolist()
    for value, want in zip(got, EXPECTED[name], strict=True):
        if isinstance(want, str):
            assert value == want
        elif isinstance(want, float) and math.isnan(want):
            assert pd.isna(value), f"{name}: expected missing, got {value}"
        else:
            assert value == pytest.approx(want, rel=1e-12), name


def test_dtypes(features):
    for name, dtype in features.dtypes.items():
        if isinstance(EXPECTED[name][0], str):
            assert not pd.api.types.is_numeric_dtype(dtype)
        else:
            assert dtype == np.float64, name
