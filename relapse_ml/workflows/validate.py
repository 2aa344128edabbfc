"""Workflow: validate a data folder and report."""

from __future__ import annotations

from pathlib import Path

from relapse_ml.validation import ValidationReport, validate_folder


def run_validate(folder: Path, *, require_outcomes: bool = False) -> ValidationReport:
    """Validate ``folder`` and return the report (nothing is written)."""
    return validate_folder(folder, require_outcomes=require_outcomes).report
