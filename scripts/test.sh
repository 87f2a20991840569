#!/usr/bin/env bash
# The one test command (README and CI run exactly this): set up, make sure PostgreSQL is there, check the layers
# and the types, run pytest on every core.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
source scripts/postgres.sh   # exports ONELICENSE_TEST_POSTGRES_URL or fails

.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache
.venv/bin/mypy

export PREFECT_HOME="${PREFECT_HOME:-$(mktemp -d)/prefect}"
set +e
.venv/bin/python -m pytest -n auto "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "test.sh: pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit $status
