"""Layer 1: the user-facing API, with Dagster's names. No I/O at import."""
