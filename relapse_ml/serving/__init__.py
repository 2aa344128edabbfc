"""Scoring: the one function batch, REST and the report call, and REST request handling."""
