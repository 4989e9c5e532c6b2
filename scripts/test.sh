#!/usr/bin/env bash
# Set up the environment and run the checks and the test suite.
# Tests run on SQLite; set PATENTMATCH_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
# to run every database test on PostgreSQL too. Extra arguments go to pytest (e.g. -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
# The browser tests drive Debian's Chromium (Playwright never downloads a browser here); a CJK
# font makes their screenshots legible. Install both when missing; without Chromium those
# tests skip with a message saying so.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
            || echo "could not install chromium: the browser tests will be skipped"
    else
        echo "chromium is missing and cannot be installed (needs root and apt-get): the browser tests will be skipped"
    fi
fi
ruff check .
ruff format --check .
mypy app scripts
# The layer order of docs/architecture.md ([tool.importlinter] in pyproject.toml).
lint-imports --no-cache
python -m pytest "$@"
