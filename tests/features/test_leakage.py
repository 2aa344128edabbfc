"""Property: nothing after the landmark, nor any value not yet known at L, moves a feature."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relapse_ml.features import LandmarkFeatures, attach_measurements
from relapse_ml.schema import load_contract
from tests.features.tiny_frames import TINY_PATIENTS, make_measurements, make_patients

MARKERS = list(load_contract().markers)
row = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.integers(-60, 400),
    st.sampled_from(MARKERS),
    st.floats(0, 1e5, allow_nan=False),
    st.sampled_from(["", "<"]),
)


def features(patients: pd.DataFrame, rows: list[tuple], day: int) -> pd.DataFrame:
    X = attach_measurements(patients, make_measurements(rows))
    return LandmarkFeatures(landmark_day=day).set_output(transform="pandas").fit_transform(X)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    day=st.sampled_from([0, 7, 13, 14, 28, 90]),
    rows=st.lists(row, max_size=40),
    later=st.lists(row, max_size=15),
    drop=st.data(),
    tox=st.tuples(st.integers(0, 5), st.integers(0, 5), st.booleans(), st.floats(0, 5000)),
)
def test_data_after_landmark_never_changes_a_feature(day, rows, later, drop, tox):
    patients = make_patients(TINY_PATIENTS)
    known = [r for r in rows if r[1] <= day]
    after = [(p, day + 1 + abs(d), m, v, q) for p, d, m, v, q in later]
    base = features(patients, known, day)
    # Adding rows after L changes nothing ...
    pd.testing.assert_frame_equal(features(patients, known + after, day), base)
    # ... nor removing some of them and changing values/qualifiers of the rest.
    keep = drop.draw(st.lists(st.booleans(), min_size=len(after), max_size=len(after)))
    modified = [
        (p, d, m, v * 3 + 1, "" if q == "<" else "<")
        for (p, d, m, v, q), k in zip(after, keep, strict=True)
        if k
    ]
    changed = patients.copy()
    for col in load_contract().patients.columns:
        if col.available_from_day is not None and col.available_from_day > day:
            value = {"crs_grade": tox[0], "icans_grade": tox[1], "tocilizumab": float(tox[2]),
                     "steroid_dex_mg": tox[3]}.get(col.name, 1.0)  # fmt: skip
            changed[col.name] = float(value)
    pd.testing.assert_frame_equal(features(changed, known + modified, day), base)
