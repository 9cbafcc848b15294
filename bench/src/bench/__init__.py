"""Boardcast's benchmark suite: starts the systems as processes, loads them, and writes docs/benchmarks.md."""
