"""The report's kind of relapse to expect: antigen-negative or antigen-positive, as plain data.

At the report's landmark L the model's phenotype part gives, per patient,
``q = P(antigen-negative | relapse by the primary horizon)`` (see
:mod:`relapse_ml.training.phenotype`). The relapse risk ``r`` then splits exactly into
``risk_antigen_negative = r q`` and ``risk_antigen_positive = r - r q`` (as in
:func:`relapse_ml.serving.scoring.score_patients`). The drivers are those of the
phenotype model itself (``model.phenotype_view()`` explained like the risk), and the
``meaning`` says, as information and not as an order, what the more likely kind usually
implies for the next step. No file I/O; the HTML renderer escapes every string.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from relapse_ml.artifact import RelapseRiskModel
from relapse_ml.explain import Explanation, ExplanationError, explain_patients, patient_drivers
from relapse_ml.schema import load_contract

NEGATIVE, POSITIVE = "antigen-negative", "antigen-positive"

PHENOTYPE_METHOD = (
    "Kind of relapse: the landmark's phenotype model estimates, from the same data known by the "
    "landmark day, the probability that a relapse by the primary horizon is antigen-negative "
    "(the tumour no longer carries the product's target; for a CD19/CD22 product, neither "
    "antigen). It is fitted on the training relapses of known antigen status only. The relapse "
    "risk splits exactly into an antigen-negative and an antigen-positive part (risk times that "
    "probability, and the rest). Its drivers are the exact SHAP contributions of the phenotype "
    "model, in points of the antigen-negative share: positive points move the expected kind "
    "toward antigen-negative, negative points toward antigen-positive."
)

PHENOTYPE_NOTE = (
    "Information for the discussion of follow-up and next steps, not a treatment instruction; "
    "the kind of a relapse is confirmed on the relapse sample."
)

# What "antigen-negative" means for each target of the contract, and the alternative
# targets usually considered after such a relapse.
_TARGET_LOSS = {
    "CD19": ("CD19", "another target such as CD22, or a dual-target product (CD19/CD22)"),
    "CD22": ("CD22", "another target such as CD19, or a dual-target product (CD19/CD22)"),
    "CD19/CD22": ("both CD19 and CD22", "a target other than CD19 and CD22"),
    "BCMA": ("BCMA", "another target, such as GPRC5D"),
}


def _target_of(patients: pd.DataFrame, i: int) -> str | None:
    if "target_antigen" not in patients:
        return None
    value = patients["target_antigen"].iloc[i]
    return None if pd.isna(value) else str(value)


def meaning(kind: str, target: str | None) -> str:
    """One or two sentences of information on what ``kind`` of relapse usually implies.

    Parameters
    ----------
    kind : str
        ``"antigen-negative"`` or ``"antigen-positive"``.
    target : str or None
        The product's target antigen (``CD19``, ``CD22``, ``CD19/CD22``, ``BCMA``), None
        when unknown.

    Returns
    -------
    str
        Worded as information (what such relapses usually respond to), never as an order.
    """
    if kind == NEGATIVE:
        lost, alternative = _TARGET_LOSS.get(
            target or "", ("the product's target", "another target or a dual-target product")
        )
        examples = " (CD19 loss, exon-2 splice variants, lineage switch)" if "CD19" in lost else ""
        return (
            f"An antigen-negative relapse has lost {lost}{examples}; more of the same CAR T cells "
            f"is not expected to act on it, and {alternative} is what such relapses usually point to."
        )
    return (
        "An antigen-positive relapse still carries the target and usually reflects CAR T cells "
        "that did not persist or became exhausted; re-infusion, checkpoint blockade and "
        "consolidation with an allogeneic transplant are the options such relapses usually "
        "point to."
    )


def headline(negative_share: float) -> tuple[str, str, float]:
    """``(more likely kind, headline, its conditional probability)`` of one patient's ``q``."""
    kind = NEGATIVE if negative_share > 0.5 else POSITIVE
    share = max(negative_share, 1.0 - negative_share)
    percent = f"{100 * share:.0f}%"
    if percent == "50%":
        text = "If relapse occurs, antigen-negative and antigen-positive are about equally likely (50%)"
    else:
        text = f"If relapse occurs, it is more likely {kind} ({percent})"
    return kind, text, float(share)


def unavailable(model: RelapseRiskModel) -> dict[str, object]:
    """The block of a model without a phenotype part: why it is missing."""
    reason = model.phenotype_note or "the model has no phenotype part"
    return {"available": False, "reason": reason}


def phenotype_blocks(
    model: RelapseRiskModel,
    explanation: Explanation,
    patients: pd.DataFrame,
    model_input: pd.DataFrame,
    top_k: int = 5,
) -> list[dict[str, object]]:
    """Each patient's ``phenotype`` block of the report (row order of ``patients``).

    Parameters
    ----------
    model : RelapseRiskModel
        The report's landmark model.
    explanation : Explanation
        ``explain_patients(model, model_input)``: the risk and the landmark features.
    patients : DataFrame
        The canonical patients rows (for the product's target antigen).
    model_input : DataFrame
        The same rows' model input (the phenotype model is explained on it).
    top_k : int
        Drivers listed per patient.

    Returns
    -------
    list of dict
        Either ``{"available": False, "reason": ...}`` (the model's ``phenotype_note``), or
        ``available``, ``horizon_days`` (the primary horizon), ``antigen_negative_share``
        (q), ``risk_antigen_negative``, ``risk_antigen_positive`` (adding up to the risk),
        ``more_likely``,
        ``more_likely_share`` (max(q, 1 - q)), ``headline``, ``baseline_share`` (the
        phenotype model's baseline q), ``group_contributions``, ``drivers`` (the phenotype
        model's, each with ``toward`` the kind it moves to), ``drivers_note`` (why there
        are none when its explanation failed; "" otherwise, and then ``baseline_share`` is
        None and the contributions empty), ``meaning`` and ``note``.
    """
    view = model.phenotype_view()
    if view is None:
        return [unavailable(model) for _ in range(len(patients))]
    share = model.antigen_negative_share(explanation.feature_values)
    risk = np.asarray(explanation.risk, dtype=np.float64)
    negative = risk * share
    positive = risk - negative
    try:
        why, failed = explain_patients(view, model_input), ""
    except ExplanationError as error:  # the kind and the split do not need the explanation
        why, failed = None, f"the phenotype model's drivers could not be computed: {error}"
    labels = load_contract().group_labels
    blocks = []
    for i in range(len(patients)):
        q = float(share[i])
        kind, text, likely = headline(q)
        drivers = []
        for d in [] if why is None else patient_drivers(view, why, i, top_k):
            entry = d.to_dict()
            entry["toward"] = NEGATIVE if d.contribution > 0 else POSITIVE
            drivers.append(entry)
        blocks.append(
            {
                "available": True,
                "horizon_days": int(model.horizon_days),
                "antigen_negative_share": q,
                "risk_antigen_negative": float(negative[i]),
                "risk_antigen_positive": float(positive[i]),
                "more_likely": kind,
                "more_likely_share": likely,
                "headline": text,
                "baseline_share": None if why is None else float(why.baseline_risk),
                "group_contributions": []
                if why is None
                else [
                    {
                        "group": g,
                        "label": labels.get(g, g),
                        "contribution": float(why.group_contributions[g].iloc[i]),
                    }
                    for g in why.group_contributions.columns
                ],
                "drivers": drivers,
                "drivers_note": failed,
                "meaning": meaning(kind, _target_of(patients, i)),
                "note": PHENOTYPE_NOTE,
            }
        )
    return blocks
