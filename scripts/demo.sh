#!/usr/bin/env bash
# The main job on the embedded default (SQLite in ./data, Prefect's local API): install, then the figures and
# one application through nine departments to a verified composite license.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PREFECT_LOGGING_LEVEL="${PREFECT_LOGGING_LEVEL:-WARNING}"
.venv/bin/onelicense catalog stats
.venv/bin/onelicense demo "$@"
pdf=$(ls -t data/licenses/*.pdf | head -n 1)
# offline: no server runs after the demo, so the live status is not asked for (with `serve` running, drop --offline)
.venv/bin/onelicense verify --offline "$pdf"
