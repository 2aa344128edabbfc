"""Units of the batch package on hand-made inputs: PSI, drift counts, CSV row numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from relapse_ml.artifact.reference import TrainingReference
from relapse_ml.batch.drift import DriftCounts, drift_report, psi
from relapse_ml.batch.reading import iter_batches
from relapse_ml.batch.routing import ORPHAN, build_patient_index


def test_psi_by_hand():
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert math.isclose(psi([0.5, 0.5], [0.25, 0.75]), expected, rel_tol=1e-12)
    assert psi([0.2, 0.8], [0.2, 0.8]) == 0.0


def test_drift_counts_and_report():
    reference = TrainingReference(
        numeric={},
        median_by_disease={},
        psi_edges={"x": np.array([1.0])},
        psi_shares={"x": np.array([0.5, 0.5, 0.0])},
        categories={"disease": ["B-ALL", "LBCL"]},
    )
    counts = DriftCounts()
    chunk = pd.DataFrame({"x": [0.0, 2.0, 3.0], "disease": ["B-ALL", "MM", None]})
    counts.update(chunk, np.array([True, False, False]), reference)
    other = DriftCounts()
    other.update(pd.DataFrame({"x": [np.nan], "disease": ["MM"]}), np.array([False]), reference)
    counts.merge(other)
    # x: below 1 -> bin 0, 2 and 3 -> bin 1 (edge 1 goes right), NaN -> missing bin.
    assert counts.bins["x"].tolist() == [1, 2, 1]
    report = drift_report(counts, reference, {"x": "antigen"})
    assert report["n_patients"] == 4 and report["share_ood"] == 0.25
    assert report["unseen_categories"] == {"disease": {"MM": 2}}
    want = psi([0.5, 0.5, 0.0], [0.25, 0.5, 0.25])
    assert math.isclose(report["features"][0]["psi"], want)
    assert report["features"][0]["status"] == "major"


def test_csv_batches_carry_file_row_numbers(tmp_path):
    path = tmp_path / "patients.csv"
    path.write_text("patient_id,age_years\nA,1\nB,2,extra\nC,3\nD,4\nE,5\n")
    batches = list(iter_batches("patients", path, 2))
    assert [b.table.column("patient_id").to_pylist() for b in batches] == [["A", "C"], ["D", "E"]]
    assert [b.row_numbers.tolist() for b in batches] == [[1, 3], [4, 5]]
    assert [r for b in batches for r, _ in b.bad_rows] == [2]


def test_patient_index_routes_by_chunk(tmp_path):
    path = tmp_path / "patients.csv"
    path.write_text("patient_id,x\nA,1\nB,1\nC,1\n,1\nE,1\n")
    index = build_patient_index(path, 2)
    assert index.n_rows == 5 and index.n_chunks == 3
    got = index.lookup(pa.array(["E", "A", "C", "Z", "", None]))
    assert got.tolist() == [2, 0, 1, ORPHAN, ORPHAN, ORPHAN]


def test_spill_keeps_one_file_per_chunk_in_file_order(tmp_path):
    from relapse_ml.batch.reading import ArrowBatch
    from relapse_ml.batch.routing import MeasurementSpill

    spill = MeasurementSpill(tmp_path, 300)
    for start in (1, 601):  # two routing batches, each touching every chunk
        rows = np.arange(start, start + 600)
        table = pa.table({"patient_id": [f"P{r}" for r in rows]})
        chunk = np.where(rows % 7 == 0, ORPHAN, rows % 300)
        spill.add(ArrowBatch(table, rows), chunk)
    spill.close()
    assert len(list(tmp_path.iterdir())) == 300
    got = spill.chunk(5, ["patient_id"])
    assert got.row_numbers.tolist() == [5, 305, 605, 905]
    assert got.table.column("patient_id").to_pylist() == ["P5", "P305", "P605", "P905"]
    assert spill.chunk(7, ["patient_id"]).row_numbers.tolist() == [307, 607, 907]


def test_every_repeat_of_an_id_is_named(tmp_path):
    import pytest

    from relapse_ml.errors import ContractError

    path = tmp_path / "patients.csv"
    path.write_text("patient_id,x\nA,1\nB,1\nA,1\nC,1\nA,1\nC,1\n")
    with pytest.raises(ContractError) as caught:
        build_patient_index(path, 2)
    assert [(p.patient_id, p.row) for p in caught.value.problems] == [("A", 3), ("A", 5), ("C", 6)]
