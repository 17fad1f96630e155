"""Media I/O: probing, the single decode pass, and clip re-encoding."""
