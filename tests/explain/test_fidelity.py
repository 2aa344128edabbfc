"""Fidelity on the simulator: do group explanations point at the simulated relapse mechanism?

Chance and base rates. With five groups, a uniform guess names the right one 20%
of the time; a stronger reference is the base rate, how often a group is the
largest positive contributor over all patients. Floors:

- antigen escape -> the antigen group is the largest positive contributor in at
  least 40% of these patients (twice uniform chance) and at least 10 points more
  often than in the whole cohort.
- persistence loss -> at day 28 the loss itself is not yet visible (it happens
  months later), so the model can only see its precursors, which the contract
  files under exhaustion, persistence and the suppressive microenvironment (the
  T-cell side). The floor is relative: a T-cell group is the largest positive
  contributor at least 15 points more often for persistence-loss than for
  antigen-escape patients (scrambled or mis-mapped groups give ~0).
"""

from __future__ import annotations

import pandas as pd
import pytest

from relapse_ml.explain import explain_patients
from relapse_ml.training import train_relapse_model
from relapse_ml.validation import validate_folder
from relapse_ml.workflows.simulate import run_simulate
from tests.helpers import quick_train_config

T_CELL_GROUPS = ("exhaustion", "persistence", "tme")


def largest_positive_group(groups: pd.DataFrame) -> pd.Series:
    """Name of each row's largest positive group contribution ("none" when none is positive)."""
    return groups.idxmax(axis=1).where(groups.max(axis=1) > 0, "none")


@pytest.mark.slow
def test_groups_point_at_the_simulated_mechanism(tmp_path):
    run_simulate(n=2000, seed=21, out_dir=tmp_path / "train", fmt="csv")
    train = validate_folder(tmp_path / "train", require_outcomes=True)
    config = quick_train_config("hist_gradient_boosting")
    model = train_relapse_model(
        train.patients, train.measurements, train.outcomes, config
    ).model.at(28)
    run_simulate(n=4000, seed=22, out_dir=tmp_path / "eval", fmt="csv")
    data = validate_folder(tmp_path / "eval")
    truth = pd.read_csv(tmp_path / "eval" / "truth.csv", dtype={"patient_id": str}).set_index(
        "patient_id"
    )
    mechanism = truth.loc[data.patients["patient_id"], "mechanism"].to_numpy()
    explanation = explain_patients(model, model.model_input(data.patients, data.measurements))
    top = largest_positive_group(explanation.group_contributions).to_numpy()
    escape, loss = mechanism == "antigen_escape", mechanism == "persistence_loss"
    antigen_rate = float((top[escape] == "antigen").mean())
    antigen_base = float((top == "antigen").mean())
    tcell = pd.Series(top).isin(T_CELL_GROUPS).to_numpy()
    tcell_loss, tcell_escape, tcell_base = (
        float(tcell[loss].mean()),
        float(tcell[escape].mean()),
        float(tcell.mean()),
    )
    print(
        f"\nfidelity: antigen_escape n={escape.sum()} antigen top {antigen_rate:.3f} (all patients {antigen_base:.3f}, chance 0.200); "
        f"persistence_loss n={loss.sum()} persistence top {float((top[loss] == 'persistence').mean()):.3f} "
        f"(all {float((top == 'persistence').mean()):.3f}); T-cell groups top {tcell_loss:.3f} "
        f"(antigen_escape {tcell_escape:.3f}, all {tcell_base:.3f})"
    )
    assert escape.sum() >= 100 and loss.sum() >= 100
    assert antigen_rate >= 0.40
    assert antigen_rate >= antigen_base + 0.10
    assert tcell_loss >= tcell_escape + 0.15
