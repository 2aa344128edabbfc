"""The installed relapse-ml version: stamped into artifacts, runs, model cards and reports."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

UNKNOWN_VERSION = "0+unknown"


def package_version() -> str:
    """Installed relapse-ml version (``0+unknown`` when run from a bare checkout)."""
    try:
        return version("relapse-ml")
    except PackageNotFoundError:
        return UNKNOWN_VERSION
