"""Property: at every landmark, data after it never moves a risk, a curve value or a contribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relapse_ml.schema import load_contract
from relapse_ml.serving.scoring import score_columns, score_patients

MARKERS = load_contract().markers
NUMERIC = [
    c
    for c in score_columns(3)
    if c.startswith(("risk_by", "death_without", "baseline", "risk_antigen"))
]


def later_rows(patient_ids, landmark, draws) -> pd.DataFrame:
    rows = [
        {
            "patient_id": patient_ids[i % len(patient_ids)],
            "day": landmark + 1 + offset,
            "marker": marker,
            "value": value,
            "unit": MARKERS[marker].unit,
            "qualifier": qualifier,
        }
        for i, (offset, marker, value, qualifier) in enumerate(draws)
    ]
    return pd.DataFrame(rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    landmark=st.sampled_from([28, 90, 180]),
    draws=st.lists(
        st.tuples(
            st.integers(0, 900),
            st.sampled_from(sorted(MARKERS)),
            st.floats(0, 1e4, allow_nan=False),
            st.sampled_from(["", "<"]),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_measurements_after_the_landmark_never_move_a_score(
    landmark_models, simulated_data, landmark, draws
):
    model = landmark_models("hist_gradient_boosting").at(landmark)
    patients = simulated_data.patients.head(12).reset_index(drop=True)
    ids = patients["patient_id"].astype(str).tolist()
    mine = simulated_data.measurements[simulated_data.measurements["patient_id"].isin(ids)]
    known = mine[mine["day"] <= landmark]
    base = score_patients(model, patients, known)
    extra = later_rows(ids, landmark, draws).astype(
        {c: known[c].dtype for c in ("patient_id", "marker", "qualifier") if c in known}
    )
    # Real later measurements, plus arbitrary ones: nothing after L may count.
    later = pd.concat([mine, extra], ignore_index=True)
    moved = score_patients(model, patients, later)
    for column in ["risk", *NUMERIC, *(c for c in base if c.startswith("contrib_"))]:
        np.testing.assert_array_equal(moved[column].to_numpy(), base[column].to_numpy(), column)
    assert moved["driver_1"].tolist() == base["driver_1"].tolist()
