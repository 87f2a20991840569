#!/usr/bin/env bash
# Install what a fresh Debian machine lacks, then the Python env in .venv.
#   scripts/setup.sh          runtime: fonts for the PDF, the package
#   scripts/setup.sh --test   also the test extras, Chromium for the browser tests, poppler, PostgreSQL if absent
set -euo pipefail
cd "$(dirname "$0")/.."
want_tests=0
[[ "${1:-}" == "--test" ]] && want_tests=1

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in fonts-noto-cjk fonts-hanazono fontconfig libpango-1.0-0 libpangoft2-1.0-0 python3-venv; do have "$pkg" || need+=("$pkg"); done
if (( want_tests )); then
  for pkg in chromium poppler-utils; do have "$pkg" || need+=("$pkg"); done
fi
if (( ${#need[@]} )); then
  echo "setup: installing ${need[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if (( want_tests )); then
  .venv/bin/python -m pip install -q -e ".[test]"
else
  .venv/bin/python -m pip install -q -e .
fi
echo "setup: ok ($(.venv/bin/python --version))"
