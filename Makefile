# Boardcast — the commands of SPEC §2. Everything runs through uv; uv is installed if missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=
export UV_LINK_MODE ?= copy

.PHONY: help uv sync dev test lint contracts contracts-check stack bench

help:
	@echo "make dev        run every service in one process on embedded defaults at http://127.0.0.1:8000"
	@echo "make test       run the whole test suite (BOARDCAST_REQUIRE_SERVICES=1 to fail on missing services)"
	@echo "make lint       ruff + mypy"
	@echo "make contracts  regenerate libs/contracts/schemas and docs/asyncapi.yaml"
	@echo "make stack      the distributed mode as processes against local RabbitMQ, Redis, PostgreSQL"
	@echo "make bench      the benchmark suite; writes docs/benchmarks.md"

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

sync: uv
	@$(UV) sync --all-packages --frozen --quiet

dev: sync
	@$(UV) run --frozen python -m boardcast_dev

test: sync
	@$(UV) run --frozen pytest libs services tests $(PYTEST_ARGS)

lint: sync
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy --strict libs/contracts/src
	@$(UV) run --frozen mypy libs/messaging/src libs/testkit/src libs/service-kit/src services/*/src dev/src

contracts: sync
	@$(UV) run --frozen python -m boardcast_contracts.generate

contracts-check: sync
	@$(UV) run --frozen python -m boardcast_contracts.generate --check

stack: sync
	@$(UV) run --frozen python -m boardcast_dev.stack

bench: sync
	@$(UV) run --frozen python -m bench
