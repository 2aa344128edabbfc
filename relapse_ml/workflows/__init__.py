"""Workflows: the only layer that reads and writes files and talks to MLflow (via tracking)."""
