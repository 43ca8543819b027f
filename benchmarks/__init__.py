"""Benchmark scripts (one per figure of ../shared/BENCHMARKS.md) and the benchmark-only no-op executor."""
