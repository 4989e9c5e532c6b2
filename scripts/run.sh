#!/usr/bin/env bash
# Set up everything and run the service on the embedded default: SQLite under var/, a local
# index under index/, the demo data from ../shared, and the default embedding model (offline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
patentmatch db upgrade
patentmatch model fetch "${PATENTMATCH_MODEL_NAME:-$(python -c 'from app.settings import Settings; print(Settings().model_name)')}"
patentmatch demo load
patentmatch index update
patentmatch keys ensure-admin
# The console's first sign-in: a one-time link to set the platform admin's password.
URL="http://${HOST:-127.0.0.1}:${PORT:-8000}"
echo "console: $URL/  —  $(PATENTMATCH_PUBLIC_URL="${PATENTMATCH_PUBLIC_URL:-$URL}" patentmatch users ensure-admin)"
# Two workers: one process per core (they map the same HNSW files; one publishes generations).
exec patentmatch serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" --workers "${WORKERS:-2}"
