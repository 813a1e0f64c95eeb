"""Benchmarks: documented commands that print figures (never timed tests). See README, "Benchmarks"."""
