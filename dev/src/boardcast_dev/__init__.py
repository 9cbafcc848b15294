"""Run Boardcast locally: every service in one process (`make dev`) or as processes (`make stack`)."""
