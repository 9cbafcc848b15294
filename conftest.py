"""Repo-wide pytest setup: the boardcast_testkit plugin (installed as an entry point) does the work."""
