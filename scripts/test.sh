#!/usr/bin/env bash
# Set up the environment and run the checks and the test suite.
# Tests run on SQLite; set PATENTMATCH_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
# to run every database test on PostgreSQL too. Extra arguments go to pytest (e.g. -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
ruff check .
ruff format --check .
mypy app
# The layer order of docs/architecture.md ([tool.importlinter] in pyproject.toml).
lint-imports --no-cache
python -m pytest "$@"
