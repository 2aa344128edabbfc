"""Registry promotion policy: first version champion; later ones must beat it by the margin."""

from __future__ import annotations

import math

import pytest

from relapse_ml.tracking import CHALLENGER, CHAMPION, decide_alias


@pytest.mark.parametrize(
    ("new", "champion", "higher", "alias"),
    [
        (0.80, None, True, CHAMPION),
        (0.80, math.nan, True, CHAMPION),
        (0.80, 0.79, True, CHAMPION),
        (0.80, 0.797, True, CHALLENGER),  # gain 0.003 <= margin 0.005
        (0.70, 0.80, True, CHALLENGER),
        (0.15, 0.20, False, CHAMPION),  # lower Brier is better
        (0.199, 0.20, False, CHALLENGER),
    ],
)
def test_decide_alias(new, champion, higher, alias):
    decided, reason = decide_alias(new, champion, margin=0.005, higher_is_better=higher)
    assert decided == alias
    assert reason
