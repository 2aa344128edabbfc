"""The validation report: every problem, with totals, and the rejected patients."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from relapse_ml.errors import PER_PATIENT, STRUCTURAL, Problem

# Beyond this many detailed problems per (table, column, expectation) the report
# keeps counting but lists no more rows: a wrong unit on 3 million rows is one
# mistake, and a list of 3 million lines helps nobody.
MAX_LISTED_PER_CHECK = 200


@dataclass
class ProblemCollector:
    """Accumulates problems from vectorised checks, keeping exact totals.

    ``first_problem`` holds each rejected patient's first problem, even when the
    row itself is beyond the listing limit (batch rejects report it).
    """

    problems: list[Problem] = field(default_factory=list)
    totals: Counter = field(default_factory=Counter)
    first_problem: dict[str, Problem] = field(default_factory=dict)

    @property
    def rejected(self) -> dict[str, str]:
        """Each rejected patient with the message of its first problem."""
        return {pid: problem.message() for pid, problem in self.first_problem.items()}

    def add(self, problem: Problem) -> None:
        """Record one problem."""
        self.totals[(problem.kind, problem.table, problem.column)] += 1
        self.problems.append(problem)
        if problem.kind == PER_PATIENT and problem.patient_id is not None:
            self.first_problem.setdefault(problem.patient_id, problem)

    def add_rows(
        self,
        *,
        kind: str,
        table: str,
        column: str | None,
        mask: np.ndarray,
        rows: np.ndarray,
        patient_ids: np.ndarray | pd.Series | None,
        expected: str,
        found: np.ndarray | pd.Series | str,
    ) -> None:
        """Record one problem per ``True`` in ``mask`` (listing at most a few hundred)."""
        index = np.flatnonzero(mask)
        if index.size == 0:
            return
        self.totals[(kind, table, column)] += int(index.size)
        ids = None if patient_ids is None else _take(patient_ids, index)
        shown_values = None if isinstance(found, str) else _take(found, index)
        for j, i in enumerate(index[:MAX_LISTED_PER_CHECK]):
            pid = None if ids is None else _clean_id(ids[j])
            shown = found if shown_values is None else show_found(shown_values[j])
            self.problems.append(Problem(kind, table, column, int(rows[i]), pid, expected, shown))
        if index.size > MAX_LISTED_PER_CHECK:
            self.problems.append(
                Problem(
                    kind,
                    table,
                    column,
                    None,
                    None,
                    expected,
                    f"{index.size - MAX_LISTED_PER_CHECK} more rows like the above (not listed)",
                )
            )
        if kind == PER_PATIENT and ids is not None:
            distinct, first = np.unique(ids.astype(str), return_index=True)
            for pid, j in zip(distinct, first, strict=True):
                if pid and pid not in self.first_problem:
                    shown = found if shown_values is None else show_found(shown_values[j])
                    self.first_problem[pid] = Problem(
                        kind, table, column, int(rows[index[j]]), pid, expected, shown
                    )


def _take(values: np.ndarray | pd.Series, index: np.ndarray) -> np.ndarray:
    """Positional subset as an object array (works for Series and arrays)."""
    if isinstance(values, pd.Series):
        return values.iloc[index].to_numpy(dtype=object)
    return np.asarray(values, dtype=object)[index]


def _clean_id(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def show_found(value: object) -> str:
    """A found value as the reports show it (quoted text, cut to 60 characters)."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class ValidationReport:
    """Everything wrong with a data folder.

    Attributes
    ----------
    folder : str
        The data folder.
    problems : tuple of Problem
        Listed problems (at most a few hundred per check; ``totals`` counts all).
    totals : dict
        Number of problems per (kind, table, column).
    rejected_patients : dict of str to str
        Each patient made unusable by a per-patient problem, with the first reason.
    n_rows : dict of str to int
        Data rows read per table.
    """

    folder: str
    problems: tuple[Problem, ...]
    totals: dict[tuple[str, str, str | None], int]
    rejected_patients: dict[str, str]
    n_rows: dict[str, int]

    @property
    def structural(self) -> tuple[Problem, ...]:
        """Problems that make a table unusable."""
        return tuple(p for p in self.problems if p.kind == STRUCTURAL)

    @property
    def n_problems(self) -> int:
        """Total number of problems, listed or not."""
        return sum(self.totals.values())

    @property
    def n_structural(self) -> int:
        """Total number of structural problems."""
        return sum(n for (kind, _, _), n in self.totals.items() if kind == STRUCTURAL)

    @property
    def is_valid(self) -> bool:
        """Whether the folder has no problem at all."""
        return self.n_problems == 0

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable summary with every listed problem."""
        return {
            "folder": self.folder,
            "valid": self.is_valid,
            "n_problems": self.n_problems,
            "n_structural": self.n_structural,
            "n_per_patient": self.n_problems - self.n_structural,
            "n_rejected_patients": len(self.rejected_patients),
            "rows": self.n_rows,
            "totals": [
                {"kind": k, "table": t, "column": c, "count": n}
                for (k, t, c), n in sorted(
                    self.totals.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
                )
            ],
            "problems": [p.to_dict() for p in self.problems],
        }

    def render(self) -> str:
        """Return the report as readable text."""
        rows = ", ".join(f"{n} {t}" for t, n in self.n_rows.items())
        if self.is_valid:
            return f"{self.folder}: valid ({rows} rows); no problems found."
        lines = [
            f"{self.folder}: {self.n_problems} problem(s): {self.n_structural} structural, "
            f"{self.n_problems - self.n_structural} per-patient "
            f"({len(self.rejected_patients)} patient(s) unusable). Rows read: {rows or 'none'}.",
        ]
        for kind, title in (
            (STRUCTURAL, "Structural (the table cannot be used)"),
            (PER_PATIENT, "Per-patient (that patient is rejected)"),
        ):
            listed = [p for p in self.problems if p.kind == kind]
            if listed:
                lines.append(f"{title}:")
                lines += [f"  - {p.message()}" for p in listed]
        lines.append("Totals by table and column:")
        for (kind, table, column), n in sorted(
            self.totals.items(), key=lambda kv: (kv[0][1], kv[0][2] or "", kv[0][0])
        ):
            lines.append(f"  {table}.{column or '*'} ({kind}): {n}")
        return "\n".join(lines)
