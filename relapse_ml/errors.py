"""Typed errors. The CLI maps them to readable messages and exit codes.

Exit codes: 0 success, 2 bad input or usage (:class:`UserError` and subclasses),
1 internal failure (anything else).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

STRUCTURAL = "structural"
PER_PATIENT = "patient"
# The head of every error that stops a run for structural problems.
UNUSABLE = "the data cannot be used"


@dataclass(frozen=True)
class Problem:
    """One way in which input breaks the data contract.

    Attributes
    ----------
    kind : {"structural", "patient"}
        Structural problems make a table unusable (batch prediction stops);
        per-patient problems make one patient unusable (that patient is rejected).
    table : str
        Contract table (``patients``, ``measurements``, ``outcomes``) or file.
    column : str or None
        Column concerned, when there is one.
    row : int or None
        1-based data row number in the file (the header is row 0).
    patient_id : str or None
        The patient concerned, when known.
    expected, found : str
        What the contract asks for and what the data holds.
    """

    kind: str
    table: str
    column: str | None
    row: int | None
    patient_id: str | None
    expected: str
    found: str

    @classmethod
    def structural(
        cls, table: str, expected: str, found: str, column: str | None = None
    ) -> Problem:
        """A structural problem of a whole table (no row or patient)."""
        return cls(STRUCTURAL, table, column, None, None, expected, found)

    @classmethod
    def unreadable_table(cls, table: str, file_name: str, reason: str) -> Problem:
        """A table file that cannot be read (``reason`` says why): structural."""
        return cls.structural(table, "a readable table", f"{file_name}: {reason}")

    @classmethod
    def unreadable_row(
        cls, table: str, row: int, text: str, n_fields: int, patient_id: str | None
    ) -> Problem:
        """A CSV row the parser could not read: per patient when it names one, else structural."""
        kind = PER_PATIENT if patient_id else STRUCTURAL
        found = f"a row that cannot be read: {text[:60]!r}"
        return cls(kind, table, None, row, patient_id or None, f"{n_fields} fields", found)

    def message(self) -> str:
        """Return a one-line human-readable description."""
        where = [f"table {self.table}"]
        if self.column:
            where.append(f"column {self.column}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.patient_id is not None:
            where.append(f"patient {self.patient_id}")
        return f"{', '.join(where)}: expected {self.expected}; found {self.found}"

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable dict with a ``message`` field."""
        return {**asdict(self), "message": self.message()}


class RelapseMLError(Exception):
    """Base class of the errors this package raises on purpose."""


class UserError(RelapseMLError):
    """Bad input or usage: reported without a traceback, exit code 2."""

    exit_code = 2


class ContractError(UserError):
    """Input data break the data contract.

    Parameters
    ----------
    problems : list of Problem
        Every problem found, not only the first.
    """

    def __init__(self, problems: list[Problem], summary: str | None = None) -> None:
        self.problems = list(problems)
        head = summary or f"{len(self.problems)} problem(s) with the input data"
        lines = [head, *("  " + p.message() for p in self.problems[:50])]
        if len(self.problems) > 50:
            lines.append(f"  ... and {len(self.problems) - 50} more")
        super().__init__("\n".join(lines))

    @classmethod
    def unusable(
        cls, problems: list[Problem], folder: object = None, reason: str | None = None
    ) -> ContractError:
        """Structural problems: the data cannot be used, and the run stops.

        Parameters
        ----------
        problems : list of Problem
            The structural problems.
        folder : path, optional
            The data folder, named at the head of the message.
        reason : str, optional
            What makes the data unusable, when one cause explains every problem.
        """
        head = UNUSABLE if folder is None else f"{folder}: {UNUSABLE}"
        return cls(problems, summary=head if reason is None else f"{head}: {reason}")


class ConfigError(UserError):
    """A configuration file or option is invalid."""


class TrackingError(UserError):
    """The MLflow tracking server or model registry cannot be used as asked."""


class ModelFileError(UserError):
    """A model file (or a registered model's artifact) is not a usable relapse-ml model."""


class UntrustedModelError(ModelFileError):
    """A model file names types outside the allowlist, or does not match its recorded checksum.

    Nothing in the file was constructed: loading stops at the check.
    """


class InternalError(RelapseMLError):
    """A failure that is not the user's input, reported in one clear line: exit code 1."""

    exit_code = 1


class RegistryError(InternalError):
    """The model registry could not be read or written; nothing was promoted."""
