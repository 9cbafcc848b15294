"""Benchmark 1 (issue 4): WebSocket fan-out of our gateway against its peers, with one load generator."""
