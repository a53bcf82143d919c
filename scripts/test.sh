#!/usr/bin/env bash
# The test command: lint and format check (ruff), types of the core (mypy), then pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k registry`.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
