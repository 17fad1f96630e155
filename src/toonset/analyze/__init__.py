"""Per-frame analyzers fed by the single decode pass: shots, timing (holds/keyframes), motion, compat."""
