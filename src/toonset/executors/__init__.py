"""Executors run the same pipeline: inline (debug), local multi-process (default), Ray (cluster)."""
