"""``python -m relapse_ml``."""

from relapse_ml.cli import entry_point

entry_point()
