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
Relapse or progression (contract `outcomes.relapse`) by day {horizon} after infusion, among patients
relapse-free at day {landmark}. Censoring before day {horizon}: rule `{params.get("censoring_rule")}`
({params.get("task.n_censored_before_horizon", "n/a")} patients censored before the horizon). With IPCW, those
patients are removed and the others weighted by the inverse Kaplan-Meier probability of remaining
uncensored, so the label is never "no relapse" by assumption.

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
