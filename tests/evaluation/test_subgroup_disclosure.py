"""Published subgroup tables: no count below 10, and none recoverable from the rest."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from relapse_ml.evaluation.subgroups import (
    publishable_subgroups,
    recoverable_cells,
    subgroup_metrics,
)
from relapse_ml.report.model_card import render_model_card


def cohort(sites: dict[str, tuple[int, int]], disease: dict[str, tuple[int, int]] | None = None):
    """One row per patient: ``sites`` maps level -> (n, events)."""
    rng = np.random.default_rng(0)
    site, y = [], []
    for level, (n, events) in sites.items():
        site += [level] * n
        y += [1] * events + [0] * (n - events)
    frame = pd.DataFrame({"site": site, "y": y})
    if disease is not None:
        labels = []
        for level, (n, _) in disease.items():
            labels += [level] * n
        assert len(labels) == len(frame)
        frame["disease"] = labels
    return frame.assign(p=rng.uniform(0.05, 0.95, len(frame)), w=1.0)


def _is_small_number(cell: object) -> bool:
    try:
        return int(str(cell)) < 10
    except ValueError:
        return False


def brute_force_values(published: pd.DataFrame, total_n: int, total_events: int) -> dict:
    """Every (n, events) of the levels with hidden cells consistent with the table and totals.

    Independent of :func:`recoverable_cells`: plain enumeration (the last hidden
    level follows from the totals).
    """

    def options(cell: object, low: int, high: int) -> range:
        if cell == "<10":
            return range(low, min(9, high) + 1)
        if cell == ">=10":
            return range(10, high + 1)
        return range(int(cell), int(cell) + 1)

    rows = published.reset_index(drop=True)
    columns = ["n", "events", "non_events"]
    hidden = [
        r for r in range(len(rows)) if not all(str(c).isdigit() for c in rows.loc[r, columns])
    ]
    shown_n = sum(int(rows.loc[r, "n"]) for r in range(len(rows)) if r not in hidden)
    shown_e = sum(int(rows.loc[r, "events"]) for r in range(len(rows)) if r not in hidden)
    per_level = []
    for r in hidden:
        choices = set()
        for n in options(rows.loc[r, "n"], 1, total_n):
            for e in options(rows.loc[r, "events"], 0, n):
                if n - e in options(rows.loc[r, "non_events"], 0, n):
                    choices.add((n, e))
        per_level.append(choices)
    order = sorted(range(len(hidden)), key=lambda i: len(per_level[i]))
    *free, last = order
    assert np.prod([len(per_level[i]) for i in free]) < 300_000, "table too large to enumerate"
    seen: dict[tuple[int, str], set[int]] = {}
    for combo in itertools.product(*(sorted(per_level[i]) for i in free)):
        n_last = total_n - shown_n - sum(c[0] for c in combo)
        e_last = total_events - shown_e - sum(c[1] for c in combo)
        if (n_last, e_last) not in per_level[last]:
            continue
        for i, (n, e) in zip([*free, last], [*combo, (n_last, e_last)], strict=True):
            seen.setdefault((hidden[i], "n"), set()).add(n)
            seen.setdefault((hidden[i], "events"), set()).add(e)
            seen.setdefault((hidden[i], "non_events"), set()).add(n - e)
    return seen


def assert_safe(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """No published count below 10; no hidden count of a small level can be worked out."""
    published = publishable_subgroups(subgroup_metrics(frame, by=by))
    for column in ("n", "events", "non_events"):
        small = [c for c in published[column] if _is_small_number(c)]
        assert not small, f"published {column} shows counts below 10: {small}"
    total_n, total_events = len(frame), int(frame["y"].sum())
    for variable in by:
        levels = published[published["variable"] == variable].reset_index(drop=True)
        small_rows = [
            r
            for r in range(len(levels))
            if "<10" in levels.loc[r, ["n", "events", "non_events"]].tolist()
        ]
        protect = {3 * r + j for r in small_rows for j in range(3)}
        assert recoverable_cells(levels, total_n, total_events, protect) == []
        values = brute_force_values(levels, total_n, total_events)
        assert values or not small_rows, "the published table admits no solution"
        for (row, column), feasible in values.items():
            if row in small_rows and not str(levels.loc[row, column]).isdigit():
                assert len(feasible) >= 2, (
                    f"{variable} row {row} {column} is recoverable: {feasible}"
                )
    return published


def test_a_site_of_one_patient_is_hidden_with_its_complement():
    frame = cohort({"S1": (1, 1), "S2": (120, 40), "S3": (90, 30)})
    published = assert_safe(frame, ["site"]).set_index("level")
    assert published.loc["S1", ["n", "events", "non_events"]].tolist() == ["<10"] * 3
    # S1 alone hidden: its n = total - the others. The smallest other site is hidden too.
    assert published.loc["S3", ["n", "events", "non_events"]].tolist() == [">=10"] * 3
    assert published.loc["S2", ["n", "events", "non_events"]].tolist() == ["120", "40", "80"]


def test_three_events_of_fifty():
    frame = cohort({"S1": (50, 3), "S2": (120, 40), "S3": (90, 30)})
    published = assert_safe(frame, ["site"]).set_index("level")
    # n stays (>= 10), but events and non-events go: n - events would reveal the other.
    assert published.loc["S1", ["n", "events", "non_events"]].tolist() == ["50", "<10", ">=10"]
    assert bool(published.loc["S1", "suppressed"])
    # Events = total - the others': the smallest other site's events are hidden too (not its size).
    assert published.loc["S3", ["n", "events", "non_events"]].tolist() == ["90", ">=10", ">=10"]
    assert published.loc["S2", ["n", "events", "non_events"]].tolist() == ["120", "40", "80"]


def test_complementary_suppression_when_one_level_is_hidden():
    # disease: only DLBCL is small; without complementary suppression its counts
    # are the total minus the other levels.
    frame = cohort(
        {"S1": (100, 40), "S2": (100, 30), "S3": (60, 20)},
        disease={"B-ALL": (130, 0), "LBCL": (123, 0), "DLBCL": (7, 0)},
    )
    frame["y"] = np.r_[[1] * 60, [0] * 70, [1] * 25, [0] * 98, [1] * 5, [0] * 2]
    raw = subgroup_metrics(frame, by=["disease"])
    naive = raw.astype({"n": object, "events": object, "non_events": object})
    naive.loc[naive["level"] == "DLBCL", ["n", "events", "non_events"]] = "<10"
    assert recoverable_cells(naive, len(frame), int(frame["y"].sum()))  # the attack works
    published = assert_safe(frame, ["disease", "site"]).set_index(["variable", "level"])
    assert published.loc[("disease", "DLBCL"), "n"] == "<10"
    others = published.loc[[("disease", "B-ALL"), ("disease", "LBCL")], "n"].tolist()
    assert ">=10" in others  # the next-smallest level (LBCL) is hidden as well
    assert published.loc[("disease", "LBCL"), "n"] == ">=10"


@pytest.mark.parametrize("seed", range(20))
def test_random_tables_never_disclose(seed: int):
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 5, 9, 12, 30, 80], size=int(rng.integers(2, 5)))
    sites = {f"S{i}": (int(n), int(rng.integers(0, n + 1))) for i, n in enumerate(sizes)}
    assert_safe(cohort(sites), ["site"])


def test_model_card_shows_no_small_count():
    frame = cohort({"S1": (1, 1), "S2": (50, 3), "S3": (120, 40), "S4": (90, 30)})
    table = subgroup_metrics(frame, by=["site"], min_events=1)  # metrics shown for all
    params = {
        "landmark_day": "28",
        "horizon_days": "365",
        "schema_version": "1",
        "evaluation.subgroup_min_events": "1",
    }
    card = render_model_card(
        name="m",
        params=params,
        metrics={},
        catalogue=pd.DataFrame({"group": ["tme"], "name": ["x"]}),
        subgroups=table,  # raw counts: the card publishes them itself
        warnings=[],
        family_table=pd.DataFrame(),
    )
    section = card.split("## Subgroups")[1].split("## Warnings")[0]
    lines = [line for line in section.splitlines() if line.startswith("| site")]
    # S1 (1 patient) and S2 (3 events) have no published metrics, so no row, even
    # though this run computed metrics for every level (min_events=1).
    assert [line.split("|")[2].strip() for line in lines] == ["S3", "S4"]
    cells = [c.strip() for line in lines for c in line.strip("|").split("|")[2:4]]
    assert not any(_is_small_number(c) for c in cells), cells


def test_metrics_of_a_small_level_are_hidden_whatever_min_events():
    # 12 events and 8 non-events: a run with min_events=5 computes metrics for S1,
    # but a metric of 8 patients discloses them, so the published table hides it.
    frame = cohort({"S1": (20, 12), "S2": (120, 40), "S3": (90, 30)})
    table = subgroup_metrics(frame, by=["site"], min_events=5)
    assert np.isfinite(table.set_index("level").loc["S1", "auroc"])
    published = publishable_subgroups(table).set_index("level")
    assert bool(published.loc["S1", "suppressed"])
    assert np.isnan(published.loc["S1", "auroc"]) and np.isnan(published.loc["S1", "brier"])
    assert np.isfinite(published.loc["S2", "auroc"])
