"""Property-based fuzzing of every parser (see harness.py)."""
