"""The model card (Markdown) logged with every training run.

Sections follow TRIPOD+AI reporting items: intended use, population, outcome and
horizon, predictors, missing data, performance with CIs, calibration,
subgroups, limitations.
"""

from __future__ import annotations

import pandas as pd

from relapse_ml.evaluation.subgroups import DISCLOSURE_MIN, publishable_subgroups
from relapse_ml.schema import load_contract


def _ci(metrics: dict[str, float], name: str, digits: int = 3) -> str:
    value = metrics.get(name)
    if value is None:
        return "n/a"
    low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
    if low is None or high is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} (95% CI {low:.{digits}f} to {high:.{digits}f})"


def _table(frame: pd.DataFrame, columns: list[str]) -> str:
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame[columns].iterrows():
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render_model_card(
    *,
    name: str,
    params: dict[str, str],
    metrics: dict[str, float],
    catalogue: pd.DataFrame,
    subgroups: pd.DataFrame,
    warnings: list[str],
    family_table: pd.DataFrame,
    curve_table: pd.DataFrame | None = None,
) -> str:
    """Render the model card as Markdown.

    Parameters
    ----------
    name : str
        Registered model name.
    params, metrics : dict
        The run's params and metrics.
    catalogue : DataFrame
        Feature catalogue (name, group, kind, unit, label, sources).
    subgroups : DataFrame
        Subgroup metrics (suppressed rows flagged), published form or raw counts
        (then published here: no count below 10 is shown).
    warnings : list of str
        Sample-size and data warnings.
    family_table : DataFrame
        Cross-validated performance of each family's best candidate.
    curve_table : DataFrame, optional
        Held-out metrics per (landmark, horizon) (``risk_curve_metrics.csv``).
    """
    contract = load_contract()
    landmark, horizon = params["landmark_day"], params["horizon_days"]
    groups = catalogue.groupby("group", sort=False)["name"].count()
    group_lines = "\n".join(
        f"- {contract.group_labels.get(g, g)} (`{g}`): {n} features" for g, n in groups.items()
    )
    if "n" in subgroups:
        subgroups = publishable_subgroups(subgroups)
    shown = subgroups[~subgroups["suppressed"]] if "suppressed" in subgroups else subgroups
    sub_cols = [
        c
        for c in ("variable", "level", "n", "events", "auroc", "brier", "calibration_intercept")
        if c in shown
    ]
    fam_cols = [
        c
        for c in ("family", "calibration", "brier_mean", "brier_sd", "auroc_mean", "auroc_sd")
        if c in family_table
    ]
    oracle = ""
    if "oracle_auroc" in metrics:
        oracle = (
            f"\nOn simulated data the true risk's AUROC on the same test patients is "
            f"{metrics['oracle_auroc']:.3f}; ratio model/oracle {metrics['auroc_oracle_ratio']:.3f}.\n"
        )
    warning_lines = "\n".join(f"- {w}" for w in warnings) or "- none"
    curve_section = _curve_section(params, metrics, curve_table) + _phenotype_section(
        params, metrics
    )
    return f"""# Model card: {name}

## Intended use
Estimates, for an adult or paediatric patient treated with CAR T-cell therapy who is alive,
relapse-free and in follow-up at day {landmark} after infusion, the probability of relapse or
progression by day {horizon}. It supports, and does not replace, clinical judgement: risk-adapted
monitoring (MRD, imaging, B-cell recovery) and discussion of pre-emptive strategies. Not for
patients with relapse before day {landmark}, products or diseases absent from the training data
(flagged as out of distribution), or decisions without clinician review.

## Population and data
- Data contract version {params["schema_version"]}; training patients at risk at day {landmark}:
  {params.get("task.n_task", "n/a")} ({params.get("split.n_train")} train / {params.get("split.n_test")} test,
  split strategy `{params.get("split.strategy")}`).
- Patients not at risk at the landmark (relapse, death or loss before day {landmark}): {params.get("task.n_not_at_risk", "n/a")}.

## Outcome and horizon
The cumulative incidence of relapse or progression (contract `outcomes.relapse`) by day {horizon}
after infusion, among patients alive and relapse-free at day {landmark}, with death without relapse
as a competing event: a patient who died without relapse before day {horizon} is a known "no
relapse" (deaths in the outcomes: `{params.get("task.competing_death", "n/a")}`). Loss to follow-up before
day {horizon}: rule `{params.get("censoring_rule")}` ({params.get("task.n_censored_before_horizon", "n/a")}
patients). With IPCW, those patients are removed and the others weighted by the inverse Kaplan-Meier
probability of remaining in follow-up, so the label is never "no relapse" by assumption.

## Predictors
Only values known by day {landmark}: patient columns whose "available from day" is at most {landmark}
and measurements with day <= {landmark}. {params.get("n_features")} features in five mechanism groups:
{group_lines}

## Missing data
Missing values stay missing in the features; the model imputes medians (numeric) or the most frequent
value (binary) learned on training data, with missing-indicator columns so missingness itself can carry
signal. Values below the limit of quantification follow one documented rule (see the feature catalogue).

## Model development
Candidate families (repeated stratified CV, whole pipeline refit in each fold; selection metric
`{params.get("selection.selection_metric")}`), calibration chosen by CV:

{_table(family_table, fam_cols) if fam_cols else "n/a"}

Chosen: `{params.get("chosen_family")}` with `{params.get("calibration_method")}` calibration.

## Performance on held-out test patients
- AUROC: {_ci(metrics, "auroc")}
- AUPRC: {_ci(metrics, "auprc")}
- Brier score: {_ci(metrics, "brier")}
- Calibration slope: {_ci(metrics, "calibration_slope")}
- Calibration intercept (calibration-in-the-large): {_ci(metrics, "calibration_intercept")}
- Integrated calibration index: {_ci(metrics, "ici")}
- Clinical-only baseline (logistic regression on disease, burden, age, prior lines): AUROC {_ci(metrics, "baseline_auroc")}
{oracle}
{curve_section}
## Subgroups (suppressed below {params.get("evaluation.subgroup_min_events")} events)
Counts below {DISCLOSURE_MIN} are shown as "<{DISCLOSURE_MIN}", and counts that would reveal them
(by subtraction from a level's size or from the totals) as ">={DISCLOSURE_MIN}".

{_table(shown, sub_cols) if sub_cols and len(shown) else "No subgroup has enough events."}

## Warnings
{warning_lines}

## Limitations
- Performance figures come from one held-out split of the training data; external validation at
  each centre is needed before clinical use.
- Relapse after CAR T differs by disease, product and era; the model has only seen the diseases,
  targets and costimulatory domains of its training data.
- Explanations (SHAP contributions) describe the model, not causal effects of changing a value.
- Values after the landmark day are never used; a risk is only valid for a patient still
  relapse-free at day {landmark}.
"""


def _curve_section(
    params: dict[str, str], metrics: dict[str, float], curve_table: pd.DataFrame | None
) -> str:
    """Risk over follow-up: the competing-death shift and a table per landmark."""
    lines = ["## Risk over follow-up (landmarks and horizons)"]
    competing = metrics.get("observed_incidence_competing")
    censoring_only = metrics.get("observed_incidence_censoring_only")
    if competing is not None and censoring_only is not None:
        lines.append(
            'Because non-relapse death now competes with relapse (a death is a known "no relapse", '
            "not censoring), risks are lower than the censoring-only answer of relapse-ml 0.2: on "
            f"this training data the observed incidence by day {params['horizon_days']} at day "
            f"{params['landmark_day']} is {competing:.3f} with deaths competing and "
            f"{censoring_only:.3f} when deaths are counted as censoring "
            f"({competing - censoring_only:+.3f})."
        )
    lines.append(
        "Each landmark has its own model (only data known by that day); the risk at other horizons "
        "and the incidence of non-relapse death are conditional factors anchored at the primary "
        "risk, so each patient's curve is non-decreasing and relapse plus death never exceed 1. "
        "Held-out patients at risk at each landmark; calibration-in-the-large is the mean "
        "predicted risk minus the observed (Aalen-Johansen) incidence."
    )
    if curve_table is None or curve_table.empty:
        return "\n\n".join(lines) + "\n"
    columns = [c for c in curve_table.columns if c != "landmark_day"]
    for landmark, rows in curve_table.groupby("landmark_day", sort=True):
        lines.append(f"### Landmark day {landmark}\n\n" + _table(rows, columns))
    return "\n\n".join(lines) + "\n"


def _phenotype_section(params: dict[str, str], metrics: dict[str, float]) -> str:
    """Which relapse: the conditional model, its calibration, and the unknown-status rule."""
    lines = ["## Which relapse: antigen-negative or antigen-positive"]
    status = {k.split(".", 1)[1]: v for k, v in params.items() if k.startswith("phenotype.L")}
    if "phenotype_auroc" not in metrics:
        notes = "; ".join(v for v in status.values() if v != "fitted") or "not trained"
        lines.append(f"No phenotype part at the first landmark: {notes}. The columns "
                     "`risk_antigen_negative` and `risk_antigen_positive` are empty.")  # fmt: skip
        return "\n\n".join(lines) + "\n"
    lines.append(
        "`risk_antigen_negative` = risk x P(antigen-negative | relapse by the primary horizon), "
        "`risk_antigen_positive` = risk minus it, so the two add up to the risk. The conditional "
        "model is fitted on the training relapses of known antigen status (IPCW-weighted); "
        f"rule for unknown status: {params.get('phenotype.unknown_status_rule', 'n/a')}. "
        f"Share of relapses with unknown status: {metrics.get('phenotype_unknown_share', float('nan')):.1%}. "
        "Negative means negative for the product's target (for CD19/CD22, for both)."
    )
    lines.append(
        "\n".join(
            [
                f"- Conditional model, held-out relapses of known status: AUROC {_ci(metrics, 'phenotype_auroc')}; "
                f"Brier {_ci(metrics, 'phenotype_brier')}; calibration slope {_ci(metrics, 'phenotype_calibration_slope')}",
                f"- `risk_antigen_negative`: AUROC {_ci(metrics, 'auroc_antigen_negative')} (cases antigen-negative "
                "relapse by the horizon, controls every other patient of known status); mean predicted "
                f"{metrics.get('mean_predicted_antigen_negative', float('nan')):.3f} against the observed "
                f"incidence {metrics.get('observed_antigen_negative_incidence', float('nan')):.3f}",
            ]
        )
    )
    if "oracle_auroc_antigen_negative" in metrics:
        lines.append(
            f"On simulated data the true incidence's AUROC is {metrics['oracle_auroc_antigen_negative']:.3f} "
            f"(ratio {metrics['auroc_antigen_negative_oracle_ratio']:.3f})."
        )
    skipped = [f"day {k[1:]}: {v}" for k, v in status.items() if v != "fitted"]
    if skipped:
        lines.append("Skipped at later landmarks: " + "; ".join(skipped) + ".")
    return "\n\n".join(lines) + "\n"
