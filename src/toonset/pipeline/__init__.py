"""Stages and the standard ``build`` pipeline. Knows nothing about executors."""
