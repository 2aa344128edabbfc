"""Cohort-level explanations: global importance and dependence plots.

Importance is the mean absolute contribution on the probability scale (in
percentage points), by feature and by mechanism group. Figures are
:class:`matplotlib.figure.Figure` objects built without pyplot (no global state),
for the training run to log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.explain.display import display_label, display_unit, natural_value
from relapse_ml.explain.explanation import Explanation, explain_patients
from relapse_ml.schema import load_contract

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn: scoring never draws
    from matplotlib.figure import Figure


def global_importance(model: RelapseRiskModel, explanation: Explanation) -> pd.DataFrame:
    """Mean |contribution| per feature, largest first.

    Returns
    -------
    DataFrame
        ``feature``, ``label``, ``group``, ``mean_abs_contribution`` (probability),
        ``mean_contribution``, ``share_imputed``.
    """
    contributions = explanation.feature_contributions
    frame = pd.DataFrame(
        {
            "feature": [s.name for s in model.catalogue],
            "label": [display_label(s) for s in model.catalogue],
            "group": [s.group for s in model.catalogue],
            "mean_abs_contribution": contributions.abs().mean(axis=0).to_numpy(),
            "mean_contribution": contributions.mean(axis=0).to_numpy(),
            "share_imputed": explanation.imputed.mean(axis=0).to_numpy(),
        }
    )
    return frame.sort_values("mean_abs_contribution", ascending=False, kind="stable").reset_index(
        drop=True
    )


def group_importance(explanation: Explanation) -> pd.DataFrame:
    """Mean |group contribution| per mechanism group, in contract order.

    Returns
    -------
    DataFrame
        ``group``, ``label``, ``mean_abs_contribution``, ``mean_contribution``.
    """
    labels = load_contract().group_labels
    groups = explanation.group_contributions
    return pd.DataFrame(
        {
            "group": list(groups.columns),
            "label": [labels.get(g, g) for g in groups.columns],
            "mean_abs_contribution": groups.abs().mean(axis=0).to_numpy(),
            "mean_contribution": groups.mean(axis=0).to_numpy(),
        }
    )


def importance_figure(importance: pd.DataFrame, *, top_n: int = 15, title: str = "") -> Figure:
    """Horizontal bar chart of mean |contribution| (percentage points).

    Labels are wrapped on word boundaries (at most three lines of 42 characters, the
    rest shortened with an ellipsis) and the figure grows with the number of label
    lines; constrained layout then keeps title, axis label and labels on the canvas. The
    title is the figure's (``fig.get_suptitle()``), centred on the canvas.
    """
    from matplotlib.figure import Figure

    from relapse_ml.evaluation.plots import wrap_label

    top = importance.head(top_n).iloc[::-1]
    labels = [wrap_label(label, 42, 3) for label in top["label"]]
    lines = sum(max(1, label.count("\n") + 1) for label in labels)
    fig = Figure(figsize=(8, 1.4 + 0.18 * lines + 0.12 * len(labels)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(labels)), 100 * top["mean_abs_contribution"], color="#4a6fa5")
    ax.set_yticks(range(len(labels)), labels, fontsize=9)
    ax.set_xlabel("mean |contribution| (percentage points of risk)")
    # centred on the figure, not on the axes (which the long labels push to the right)
    fig.suptitle(wrap_label(title or "Global importance", 60, 3))
    return fig


def dependence_figures(
    model: RelapseRiskModel, explanation: Explanation, *, top_n: int = 6
) -> dict[str, Figure]:
    """Dependence plots (value vs contribution) of the ``top_n`` most important features.

    Returns
    -------
    dict of str to Figure
        ``dependence_<feature>.png`` -> figure; missing values are drawn at the
        left edge in grey (they were imputed), categories as strip plots.
    """
    from matplotlib.figure import Figure

    from relapse_ml.evaluation.plots import wrap_label

    importance = global_importance(model, explanation)
    specs = {s.name: s for s in model.catalogue}
    figures: dict[str, Figure] = {}
    for name in importance["feature"].head(top_n):
        spec = specs[name]
        values = explanation.feature_values[name]
        contribution = 100 * explanation.feature_contributions[name].to_numpy(dtype=np.float64)
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.add_subplot()
        missing = values.isna().to_numpy()
        if spec.kind == "categorical":
            levels = list(spec.categories or ())
            codes = pd.Categorical(values, categories=levels).codes
            ax.scatter(codes[~missing], contribution[~missing], s=8, alpha=0.5, color="#4a6fa5")
            ax.set_xticks(range(len(levels)), levels)
        else:
            x = natural_value(spec, values.to_numpy(dtype=np.float64, na_value=np.nan))
            ax.scatter(
                x[~missing],
                contribution[~missing],
                s=8,
                alpha=0.5,
                color="#4a6fa5",
                label="measured",
            )
            if missing.any() and (~missing).any():
                left = np.nanmin(x)
                ax.scatter(
                    np.full(missing.sum(), left),
                    contribution[missing],
                    s=8,
                    alpha=0.5,
                    color="#999999",
                    label="missing (imputed)",
                )
                ax.legend(loc="best", fontsize=8)
            if spec.unit.startswith("log10("):
                ax.set_xscale("symlog")
        ax.axhline(0, color="black", linewidth=0.6)
        unit = display_unit(spec)
        xlabel = display_label(spec) + (f" ({unit})" if unit else "")
        ax.set_xlabel(wrap_label(xlabel, 80, 2), fontsize=8)
        ax.set_ylabel("contribution (percentage points)")
        ax.set_title(wrap_label(f"Dependence: {name}", 70, 2), fontsize=9)
        figures[f"dependence_{name}.png"] = fig
    return figures


def cohort_explanations(
    model: RelapseRiskModel, model_input: pd.DataFrame, *, top_n: int = 6
) -> tuple[dict[str, pd.DataFrame], dict[str, Figure]]:
    """Everything the training run logs about explanations, on ``model_input`` (e.g. the test split).

    Returns
    -------
    tables : dict of str to DataFrame
        ``shap_importance_features.csv``, ``shap_importance_groups.csv``.
    figures : dict of str to Figure
        ``shap_importance.png``, ``shap_importance_groups.png`` and ``dependence_<feature>.png``.
    """
    explanation = explain_patients(model, model_input)
    features = global_importance(model, explanation)
    groups = group_importance(explanation)
    figures = {
        "shap_importance.png": importance_figure(
            features, title="Global importance by feature (test patients)"
        ),
        "shap_importance_groups.png": importance_figure(
            groups.rename(columns={"group": "feature"}),
            top_n=len(groups),
            title="Global importance by mechanism group",
        ),
        **dependence_figures(model, explanation, top_n=top_n),
    }
    tables = {"shap_importance_features.csv": features, "shap_importance_groups.csv": groups}
    return tables, figures
