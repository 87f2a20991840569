#!/usr/bin/env bash
# The one test command (README and CI run exactly this): set up from the lock, make sure PostgreSQL is there, check
# the layers and the types, run pytest on every core.
#   scripts/test.sh [pytest args]            on the locked versions (uv.lock): what CI runs
#   scripts/test.sh --newest [pytest args]   on the newest releases pyproject.toml allows (.venv-newest), to see
#                                            what bumping the lock would break before doing it
#   scripts/test.sh --fast [pytest args]     the everyday lane: ruff, then the layers below the entry points (domain,
#                                            services, store, docs) on SQLite, nothing slow (~1 min on 2 cores);
#                                            give a folder (tests/web/portal) to run that one instead
#                                            (CONTRIBUTING.md)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
# two pytest workers per core: many tests wait on a subprocess, a server or Chromium, not on the CPU (on the 2-core
# machine the suite took 774 s with 2 workers, 630 s with 4)
workers=$(( $(nproc) * 2 ))
if [[ "${1:-}" == "--fast" ]]; then
  shift
  bash scripts/setup.sh --test
  "$venv/bin/ruff" check .
  export PREFECT_HOME="${PREFECT_HOME:-$(mktemp -d)/prefect}"
  export ONELICENSE_TEST_POSTGRES_URL="${ONELICENSE_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
  paths=(tests/forms tests/review tests/licenses tests/services tests/store tests/oidc tests/test_docs.py)
  for arg in "$@"; do [[ "$arg" == tests* ]] && paths=(); done   # a folder or file given: that one instead
  exec "$venv/bin/python" -m pytest -n "$workers" -q -m "not slow and not browser and not postgres" --durations=10 \
    "${paths[@]}" "$@"
fi
if [[ "${1:-}" == "--newest" ]]; then
  shift
  bash scripts/setup.sh --test --newest
  venv=.venv-newest
else
  bash scripts/setup.sh --test
fi
export ONELICENSE_TEST_PYTHON="$venv/bin/python"
source scripts/postgres.sh   # exports ONELICENSE_TEST_POSTGRES_URL or fails

"$venv/bin/ruff" check .
"$venv/bin/lint-imports" --no-cache
"$venv/bin/mypy"

export PREFECT_HOME="${PREFECT_HOME:-$(mktemp -d)/prefect}"
set +e
"$venv/bin/python" -m pytest -n "$workers" --durations=25 "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "test.sh: pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit $status
