"""Command-line interface: thin typer commands that parse, load config and call one workflow.

Exit codes: 0 success; 2 bad input or usage (a readable message, no traceback);
1 internal failure.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from relapse_ml.batch.config import PredictConfig
from relapse_ml.errors import InternalError, UserError

app = typer.Typer(
    name="relapse-ml",
    help="Calibrated, explained risk of relapse after CAR T-cell therapy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
# The one copy of each option default is PredictConfig's.
_PREDICT = PredictConfig
MODEL_HELP = (
    "Model URI: models:/name@alias, models:/name/version, runs:/..., or a .skops file "
    "(default: the champion of the registered name in pipelines/train.yaml)."
)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def schema(
    out: Annotated[
        Path | None,
        typer.Option(help="Write the data dictionary to this file instead of printing it."),
    ] = None,
) -> None:
    """Print the data dictionary generated from the data contract."""
    from relapse_ml.io import write_text
    from relapse_ml.schema import render_data_dictionary

    text = render_data_dictionary()
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text(text, out)


@app.command()
def validate(
    data: Annotated[
        Path, typer.Option(help="Data folder (patients, measurements, optional outcomes).")
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    require_outcomes: Annotated[
        bool, typer.Option(help="Treat a missing outcomes table as a problem.")
    ] = False,
) -> None:
    """Check a data folder against the data contract; exit 2 if it breaks it."""
    from relapse_ml.workflows.validate import run_validate

    report = run_validate(data, require_outcomes=require_outcomes)
    if json_output:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(report.render())
    raise typer.Exit(EXIT_OK if report.is_valid else EXIT_BAD_INPUT)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the simulated cohort to.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of patients.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Simulate a cohort (patients, measurements, outcomes, truth) grounded in published figures."""
    from relapse_ml.workflows.simulate import run_simulate

    if fmt not in ("csv", "parquet"):
        _fail(f"--format must be csv or parquet, not {fmt!r}")
    paths = run_simulate(n=n, seed=seed, out_dir=out, fmt=fmt)
    typer.echo(f"Simulated {n} patients (seed {seed}) into {out}:")
    for path in paths:
        typer.echo(f"  {path}")


@app.command()
def train(
    data: Annotated[
        Path,
        typer.Option(
            help="Training folder (patients, measurements, outcomes; truth.csv optional)."
        ),
    ],
    config: Annotated[
        Path | None, typer.Option(help="Training recipe, e.g. pipelines/train.yaml.")
    ] = None,
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment name.")] = None,
    register_as: Annotated[
        str | None, typer.Option(help="Registered model name (default car-t-relapse).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Train candidate classifiers, evaluate with CIs, log to MLflow and register the model."""
    from relapse_ml.config import load_train_config
    from relapse_ml.evaluation import METRIC_NAMES
    from relapse_ml.workflows.train import run_train

    settings = load_train_config(config, experiment=experiment, registered_name=register_as)
    summary = run_train(data, settings)
    if json_output:
        typer.echo(json.dumps(dataclasses.asdict(summary), indent=2, default=str))
        return
    typer.echo(
        f"run {summary.run_id} (experiment {summary.experiment_id}) on {summary.tracking_uri}"
    )
    typer.echo(
        f"registered {summary.registered_name} version {summary.version} as @{summary.alias}: {summary.promotion_reason}"
    )
    for name in METRIC_NAMES:
        low, high = summary.metrics.get(f"{name}_ci_low"), summary.metrics.get(f"{name}_ci_high")
        typer.echo(f"  {name:<22} {summary.metrics[name]:.3f}  (95% CI {low:.3f} to {high:.3f})")
    for name in ("baseline_auroc", "oracle_auroc", "auroc_oracle_ratio"):
        if name in summary.metrics:
            typer.echo(f"  {name:<22} {summary.metrics[name]:.3f}")
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}")


@app.command()
def explain(
    data: Annotated[Path, typer.Option(help="Data folder holding the patients to explain.")],
    patient: Annotated[list[str], typer.Option(help="Patient id to explain (repeat for several).")],
    out: Annotated[Path, typer.Option(help="HTML report to write (self-contained).")],
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report content as JSON.")
    ] = None,
    top_k: Annotated[int, typer.Option(min=1, max=20, help="Drivers listed per patient.")] = 5,
    landmark: Annotated[
        int | None,
        typer.Option(
            help="Landmark day L: the patient is alive and relapse-free at L, data known by L "
            "(default: the model's first landmark, 28)."
        ),
    ] = None,
) -> None:
    """Write a clinician report explaining each patient's risk by mechanism."""
    from relapse_ml.config import default_model_uri
    from relapse_ml.workflows.explain import run_explain

    run_explain(
        data, model or default_model_uri(), patient, out, json_out, top_k=top_k, landmark=landmark
    )
    typer.echo(
        f"report for {len(patient)} patient(s): {out}"
        + (f" (JSON: {json_out})" if json_out else "")
    )


@app.command()
def predict(
    data: Annotated[
        Path, typer.Option(help="Data folder (patients, measurements; CSV or Parquet).")
    ],
    out: Annotated[Path, typer.Option(help="Scores file, .csv or .parquet.")],
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejects file (default <stem>.rejects.csv beside --out).")
    ] = None,
    top_k: Annotated[
        int, typer.Option(help="Plain-language drivers per patient (0 to 20).")
    ] = _PREDICT.top_k,
    chunk_size: Annotated[
        int, typer.Option(help="Patients per chunk (memory grows with it; results do not).")
    ] = _PREDICT.chunk_size,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Local engine: processes scoring chunks (default: CPU count, at most 4)."
        ),
    ] = None,
    engine: Annotated[
        str, typer.Option(help="local, or spark (needs the [spark] extra).")
    ] = _PREDICT.engine,
    json_summary: Annotated[
        bool, typer.Option("--json-summary", help="Print the end-of-run summary as JSON.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Progress bar (only shown on a terminal).")] = True,
    max_internal_error_share: Annotated[
        float,
        typer.Option(
            help="Fail (exit 1, nothing written) if more than this share of patients "
            "cannot be scored because of internal errors."
        ),
    ] = _PREDICT.max_internal_error_share,
    landmark: Annotated[
        int | None,
        typer.Option(
            help="Landmark day L: patients alive and relapse-free at L, data known by L "
            "(default: the model's first landmark, 28)."
        ),
    ] = None,
) -> None:
    """Score a folder of patients with explanations; every patient is scored or rejected with a reason."""
    from relapse_ml.config import default_model_uri
    from relapse_ml.workflows.predict import run_predict

    job = PredictConfig(
        data_dir=data,
        model_uri=model or default_model_uri(),
        out=out,
        rejects=rejects,
        top_k=top_k,
        chunk_size=chunk_size,
        engine=engine,
        workers=workers,
        json_summary=json_summary,
        progress=progress,
        max_internal_error_share=max_internal_error_share,
        landmark=landmark,
    )
    run_predict(job, echo=typer.echo)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option(help="Folder for the demo's cohorts, predictions and report.")
    ] = Path("demo-output"),
    config: Annotated[
        Path | None, typer.Option(help="Training recipe (default: built-in defaults).")
    ] = None,
    n_train: Annotated[int, typer.Option(min=200, help="Simulated training patients.")] = 3000,
    n_new: Annotated[int, typer.Option(min=10, help="Simulated new patients to score.")] = 1000,
) -> None:
    """Run the whole job end to end: simulate, train and register, score a new cohort, explain."""
    from relapse_ml.config import load_train_config
    from relapse_ml.workflows.demo import run_demo

    summary = run_demo(out, load_train_config(config), n_train=n_train, n_new=n_new)
    typer.echo(summary.render())


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map typed errors to messages and exit codes.

    Returns
    -------
    int
        The process exit code.
    """
    # MLflow's INFO lines and download bars are noise for our users; warnings stay.
    # MLflow configures its own logger on import from this variable.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        # Standalone mode lets click report usage errors itself (exit code 2)
        # and turns every exit into SystemExit; our own errors pass through.
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_BAD_INPUT)
    except (UserError, InternalError) as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    return EXIT_OK


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main())
