#!/usr/bin/env bash
# PostgreSQL with two API replicas, a worker and Redis-shared rate limits, as in production:
# the demo data, 20 keys, then bench_load's need, text and mixed loads over both replicas, a
# write through each replica searched through the other, and one SIGTERM to all three at once.
# Needs .venv (bash scripts/setup.sh), the model (patentmatch model fetch), PostgreSQL and Redis.
#   bash scripts/bench_replicas.sh [DATABASE_NAME]   # dropped and created again: use a spare one
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
DB=${1:-bench_replicas}; PG=${PG:-postgresql+psycopg://postgres@127.0.0.1:5432}
W=var/bench-replicas; rm -rf "$W"; mkdir -p "$W"
psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $DB" -c "create database $DB"
export PATENTMATCH_DATABASE_URL=$PG/$DB PATENTMATCH_REDIS_URL=${REDIS:-redis://127.0.0.1:6379/11} \
  PATENTMATCH_DB_POOL_SIZE=10 PATENTMATCH_DB_MAX_OVERFLOW=10 PATENTMATCH_VAR_DIR=$W/var
patentmatch db upgrade >/dev/null
patentmatch demo load | tail -1
PATENTMATCH_INDEX_DIR=$W/index1 patentmatch index update | tail -1
# Each replica keeps its own index folder; a copy of a saved one catches up from the change log.
cp -r "$W/index1" "$W/index2"; cp -r "$W/index1" "$W/indexw"
for o in 7 8 9 10 11 12 7 8 9 10; do patentmatch keys create --role enterprise --org $o | tail -1; done > "$W/keys"
for o in 1 2 3 4 5 1 2 3 4 5; do patentmatch keys create --role tto --org $o | tail -1; done >> "$W/keys"
TTO=$(patentmatch keys create --role tto --org 1 | tail -1)
PATENTMATCH_INDEX_DIR=$W/index1 patentmatch serve --port 8104 > "$W/replica1.log" 2>&1 & R1=$!
PATENTMATCH_INDEX_DIR=$W/index2 patentmatch serve --port 8105 > "$W/replica2.log" 2>&1 & R2=$!
PATENTMATCH_INDEX_DIR=$W/indexw patentmatch worker > "$W/worker.log" 2>&1 & WK=$!
trap 'kill $R1 $R2 $WK 2>/dev/null || true' EXIT
for p in 8104 8105; do until curl -sf "http://127.0.0.1:$p/readyz" >/dev/null; do sleep 1; done; done
BOTH=http://127.0.0.1:8104,http://127.0.0.1:8105
for s in need text mixed; do
  python scripts/bench_load.py --base $BOTH --keys "$W/keys" --write-key "$TTO" --scenario $s \
    --connections 50 --seconds 30 --pid $R1 --pid $R2
done
for pair in "8104 8105" "8105 8104"; do set -- $pair
  python scripts/bench_load.py --base "http://127.0.0.1:$1" --read-base "http://127.0.0.1:$2" \
    --keys "$W/keys" --write-key "$TTO" --scenario visibility --repeat 10
done
echo "one SIGTERM to both replicas and the worker"
kill -TERM $R1 $R2 $WK
trap - EXIT
status=0
# uvicorn ends with the signal's own status (143) once its shutdown has completed.
for p in $R1 $R2 $WK; do set +e; wait $p; rc=$?; set -e; echo "pid $p exited $rc"; [ $rc = 0 ] || [ $rc = 143 ] || status=1; done
for f in replica1 replica2 worker; do
  if grep -q Traceback "$W/$f.log"; then echo "$f: traceback in $W/$f.log"; status=1; fi
done
grep -h "Application shutdown complete\|worker stopped" "$W"/*.log
exit $status
