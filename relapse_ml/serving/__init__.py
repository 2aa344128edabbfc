"""The served model: the trained artifact, its reference population and the scoring function."""
