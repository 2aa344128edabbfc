"""What ``relapse-ml predict`` shows: the end-of-run summary (text or JSON) and a progress bar."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PredictSummary:
    """What ``relapse-ml predict`` reports at the end (also as JSON)."""

    n_input: int
    n_scored: int
    n_rejected: int
    n_ood: int
    n_unknown_patients: int
    n_unknown_patient_rows: int
    elapsed_s: float
    patients_per_s: float
    output: str
    rejects: str
    drift: str
    model_uri: str
    model_name: str
    model_version: str
    engine: str
    chunk_size: int
    drift_summary: dict
    n_internal_errors: int = 0

    def to_dict(self) -> dict:
        """JSON-serialisable dict."""
        return asdict(self)

    def to_json(self) -> str:
        """The summary as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=float)

    def render(self, drift_text: str = "") -> str:
        """Readable lines."""
        lines = [
            f"scored {self.n_scored} of {self.n_input} patients with {self.model_name} "
            f"version {self.model_version or '?'} ({self.engine} engine) in {self.elapsed_s:.1f} s "
            f"({self.patients_per_s:,.0f} patients/s)",
            f"rejected {self.n_rejected}; out-of-distribution {self.n_ood}; measurements of "
            f"{self.n_unknown_patients} unknown patient(s) ({self.n_unknown_patient_rows} rows) not used",
            f"scores:  {self.output}",
            f"rejects: {self.rejects}",
            f"drift:   {self.drift}",
        ]
        if self.n_internal_errors:
            lines.append(
                f"warning: {self.n_internal_errors} patient(s) could not be scored because of "
                "an internal error; they are in the rejects with reason 'internal error: ...'"
            )
        if drift_text:
            lines.append(drift_text)
        return "\n".join(lines)


class Progress:
    """A one-line progress bar on stderr, shown only on a terminal."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = max(total, 1)
        self.enabled = enabled and sys.stderr.isatty()
        self.done = 0
        self.start = time.perf_counter()

    def update(self, n: int) -> None:
        """Count ``n`` more patients and redraw."""
        self.done += n
        if not self.enabled:
            return
        share = min(self.done / self.total, 1.0)
        rate = self.done / max(time.perf_counter() - self.start, 1e-9)
        bar = "#" * int(30 * share)
        sys.stderr.write(f"\r[{bar:<30}] {self.done}/{self.total} patients ({rate:,.0f}/s)")
        sys.stderr.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
