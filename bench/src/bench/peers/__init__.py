"""The systems our services are compared with, and the stand-ins the benchmarks start beside them."""
