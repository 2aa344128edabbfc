"""Workflow: the whole job end to end on the embedded default (the README's first command).

Simulates a training cohort, trains and registers a champion in the local
SQLite MLflow store, simulates a new cohort, scores it with explanations,
writes a clinician report for a few patients and says where everything is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from relapse_ml.training.config import TrainConfig


@dataclass(frozen=True)
class DemoSummary:
    """Where the demo put things, and how long it took."""

    training_folder: Path
    new_cohort_folder: Path
    tracking_uri: str
    model_uri: str
    model_version: str
    alias: str
    predictions: Path
    rejects: Path
    report: Path
    n_scored: int
    n_rejected: int
    metrics: dict[str, float]
    elapsed_s: float

    def render(self) -> str:
        """Human-readable summary with next steps."""
        db = self.tracking_uri
        ui = f"mlflow ui --backend-store-uri {db}" if db.startswith("sqlite:") else f"open {db}"
        m = self.metrics
        return "\n".join(
            [
                f"relapse-ml demo finished in {self.elapsed_s:.0f} s",
                f"  training cohort (simulated): {self.training_folder}",
                f"  MLflow store:                {db}",
                f"  registered model:            {self.model_uri} (version {self.model_version}, @{self.alias})",
                f"  test AUROC {m['auroc']:.3f} (95% CI {m['auroc_ci_low']:.3f}-{m['auroc_ci_high']:.3f}), "
                f"calibration slope {m['calibration_slope']:.2f}, Brier {m['brier']:.3f}",
                f"  new cohort (simulated):      {self.new_cohort_folder}",
                f"  predictions:                 {self.predictions} ({self.n_scored} scored, {self.n_rejected} rejected: {self.rejects})",
                f"  clinician report:            {self.report}",
                "Next:",
                f"  {ui}        # browse runs, metrics, plots, the model card and the registry",
                f"  open {self.report}",
            ]
        )


def run_demo(
    out_dir: Path, config: TrainConfig, *, n_train: int = 3000, n_new: int = 1000, n_report: int = 3
) -> DemoSummary:
    """Run simulate -> train -> simulate -> predict -> explain into ``out_dir``."""
    from relapse_ml.batch.config import PredictConfig
    from relapse_ml.workflows.explain import run_explain
    from relapse_ml.workflows.predict import run_predict
    from relapse_ml.workflows.simulate import run_simulate
    from relapse_ml.workflows.train import run_train

    start = time.perf_counter()
    out_dir = Path(out_dir)
    train_folder, new_folder = out_dir / "training-cohort", out_dir / "new-cohort"
    run_simulate(n=n_train, seed=config.seed, out_dir=train_folder, fmt="csv")
    trained = run_train(train_folder, config)
    run_simulate(n=n_new, seed=config.seed + 1, out_dir=new_folder, fmt="parquet")
    model_uri = f"models:/{config.registered_name}@{trained.alias}"
    predictions = out_dir / "predictions.csv"
    rejects = out_dir / "predictions.rejects.csv"
    scored = run_predict(
        PredictConfig(new_folder, model_uri=model_uri, out=predictions, rejects=rejects, workers=1)
    )
    import pandas as pd

    ids = pd.read_csv(predictions, usecols=["patient_id", "risk"]).sort_values("risk")["patient_id"]
    # Lowest, middle and highest risk: a report that shows the range.
    picks = [ids.iloc[0], ids.iloc[len(ids) // 2], ids.iloc[-1]][:n_report]
    report = out_dir / "report.html"
    run_explain(new_folder, model_uri, picks, report, out_dir / "report.json")
    return DemoSummary(
        training_folder=train_folder,
        new_cohort_folder=new_folder,
        tracking_uri=trained.tracking_uri,
        model_uri=model_uri,
        model_version=trained.version,
        alias=trained.alias,
        predictions=predictions,
        rejects=rejects,
        report=report,
        n_scored=int(scored.n_scored),
        n_rejected=int(scored.n_rejected),
        metrics=trained.metrics,
        elapsed_s=time.perf_counter() - start,
    )
