#!/usr/bin/env bash
# The one test command (README and CI run exactly this): set up from the lock, make sure PostgreSQL is there, check
# the layers and the types, run pytest on every core.
#   scripts/test.sh [pytest args]            on the locked versions (uv.lock): what CI runs
#   scripts/test.sh --newest [pytest args]   on the newest releases pyproject.toml allows (.venv-newest), to see
#                                            what bumping the lock would break before doing it
#   scripts/test.sh --fast [pytest args]     the everyday lane: ruff, then the tests that are neither slow, nor
#                                            in the browser, nor the PostgreSQL twin (CONTRIBUTING.md)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
if [[ "${1:-}" == "--fast" ]]; then
  shift
  bash scripts/setup.sh --test
  "$venv/bin/ruff" check .
  export PREFECT_HOME="${PREFECT_HOME:-$(mktemp -d)/prefect}"
  export ONELICENSE_TEST_POSTGRES_URL="${ONELICENSE_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
  exec "$venv/bin/python" -m pytest -n auto -q -m "not slow and not browser and not postgres" --durations=10 "$@"
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
"$venv/bin/python" -m pytest -n auto --durations=25 "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "test.sh: pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit $status
