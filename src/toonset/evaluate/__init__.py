"""Metrics for benchmark tasks: shot boundaries and per-frame timing."""
