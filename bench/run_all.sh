#!/usr/bin/env bash
# One run of each benchmark, as docs/performance.md reports them, each one's output kept in OUT (default
# docs/bench/<date>, which the page cites): run it on a quiet machine (nothing else busy: the figures are the machine's), ~30 min on
# 2 cores. PostgreSQL on 127.0.0.1 (scripts/postgres.sh) for the PostgreSQL rows; databases of its own, dropped
# before each run.
#   bash bench/run_all.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/bench/$(date +%Y-%m-%d)}"
mkdir -p "$out"
py=.venv/bin/python
source scripts/postgres.sh >/dev/null
pg=postgresql+psycopg://postgres@127.0.0.1
fresh() {  # a database of ours and one for Prefect's server, empty
  for db in bench_flows prefect_bench; do
    psql -qh 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
  done
}
run() {  # name, command...: the command's output to OUT/name.txt, with the machine's state before and after
  local name=$1; shift
  echo "== $name: $*"
  { echo "# $*"; echo "# $(date -Iseconds), $(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    # the servers' request log (a line per request) is left out: the figures are what is kept
    { "$@" 2>&1 || echo "# exit status $?"; } | grep -v ' INFO onelicense.web.request \[' || true
    echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$out/$name.txt"
  grep -E '^\| |ratio|req/s|per submit|exit status' "$out/$name.txt" | tail -30 || true
}
unset ONELICENSE_PREFECT_DATABASE_URL
run flows-sqlite $py bench/bench_flows.py --n 100
fresh
ONELICENSE_PREFECT_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/prefect_bench \
  run flows-postgres $py bench/bench_flows.py --n 100 --database-url "$pg/bench_flows"
fresh
ONELICENSE_PREFECT_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/prefect_bench \
  run flows-postgres-workers2 $py bench/bench_flows.py --n 100 --workers 2 --database-url "$pg/bench_flows"
run load-50-sqlite $py bench/load.py --clients 50
run load-50-postgres-w2 $py bench/load.py --clients 50 --api-workers 2 --database-url "$pg/test"
run load-200-sqlite $py bench/load.py --clients 200
run load-200-postgres-w2 $py bench/load.py --clients 200 --api-workers 2 --database-url "$pg/test"
run submit-sqlite $py bench/submit.py --api
run submit-postgres $py bench/submit.py --api --database-url "$pg/test"
run licenses-http $py bench/bench_licenses.py --only-http
run licenses-pdf $py bench/bench_licenses.py --only-pdf
run licenses-engines $py bench/bench_licenses.py --engines --renders 20
run instant $py bench/instant.py --count 20
echo "outputs in $out"
