"""Quality and speed benchmarks, run on demand (never inside the test suite)."""
