"""``--engine spark`` (pyspark local[2]) gives the same files as the local engine."""

from __future__ import annotations

import pandas as pd
import pytest

from relapse_ml.batch.config import PredictConfig
from relapse_ml.workflows.predict import run_predict
from relapse_ml.workflows.simulate import run_simulate

pytest.importorskip("pyspark", reason="pyspark is not installed (optional extra [spark])")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("spark_session"),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.mark.parametrize(("fmt", "landmark"), [("parquet", None), ("csv", 90)])
def test_spark_engine_matches_local(model_path, tmp_path, fmt, landmark):
    folder = tmp_path / "data"
    run_simulate(n=120, seed=8, out_dir=folder, fmt=fmt)
    patients = (
        pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
        if (fmt == "csv")
        else None
    )
    if patients is not None:
        # A bad value and an orphan measurement must be handled alike too.
        patients.loc[4, "age_years"] = "old"
        patients.to_csv(folder / "patients.csv", index=False)
        with (folder / "measurements.csv").open("a") as handle:
            handle.write("GHOST,7,il6_pg_ml,3.0,pg/mL,\n")
    local = run_predict(
        PredictConfig(
            folder,
            str(model_path),
            tmp_path / "local" / "p.parquet",
            chunk_size=25,
            workers=1,
            landmark=landmark,
        )
    )
    spark = run_predict(
        PredictConfig(
            folder,
            str(model_path),
            tmp_path / "spark" / "p.parquet",
            chunk_size=25,
            engine="spark",
            workers=1,
            landmark=landmark,
        )
    )
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "local" / "p.parquet"),
        pd.read_parquet(tmp_path / "spark" / "p.parquet"),
    )
    for name in ("p.rejects.csv", "p.drift.json"):
        assert (tmp_path / "local" / name).read_text() == (tmp_path / "spark" / name).read_text()
    assert (spark.n_scored, spark.n_rejected) == (local.n_scored, local.n_rejected)
    scores = pd.read_parquet(tmp_path / "spark" / "p.parquet")
    assert set(scores["landmark_day"]) == {landmark or 28}
    assert scores["risk_by_day_730"].notna().all()
    if fmt == "csv":
        assert local.n_rejected == 1 and local.n_unknown_patients == 1
