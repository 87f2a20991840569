#!/usr/bin/env bash
# Install what a fresh Debian machine lacks, then the Python env in .venv, exactly as uv.lock says.
#   scripts/setup.sh            runtime: fonts for the PDF, the package and its locked dependencies
#   scripts/setup.sh --test     also the test extras, Chromium for the browser tests, poppler, NSS tools and qpdf
#                               (the PDF signature tests), PostgreSQL if absent
#   scripts/setup.sh --newest   the test env with the newest releases the version ranges allow, in .venv-newest,
#                               ignoring the lock: see what a release would change before bumping the lock
set -euo pipefail
cd "$(dirname "$0")/.."
want_tests=0 newest=0
for arg in "$@"; do
  case "$arg" in
    --test) want_tests=1 ;;
    --newest) newest=1 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in fonts-noto-cjk fonts-hanazono fontconfig libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 python3-venv; do have "$pkg" || need+=("$pkg"); done
# pg_dump and pg_restore for `onelicense backup` / `restore` on PostgreSQL (not older than the server's version)
command -v pg_dump >/dev/null || need+=(postgresql-client)
if (( want_tests )); then
  # pdfsig (poppler-utils), certutil (libnss3-tools: an NSS database trusting the test root) and qpdf validate the
  # certificate's PAdES signature as a relying party would
  for pkg in chromium poppler-utils libnss3-tools qpdf; do have "$pkg" || need+=("$pkg"); done
fi
if (( ${#need[@]} )); then
  echo "setup: installing ${need[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# uv, pinned with its hashes, in a folder of its own (a sync of .venv removes whatever the lock does not name)
PY=${PYTHON:-python3}
uv_version=$(sed -n 's/^uv==\([0-9.]*\).*/\1/p' scripts/uv-requirements.txt)
if [[ "$(.tools/bin/uv --version 2>/dev/null)" != "uv $uv_version"* ]]; then
  rm -rf .tools
  "$PY" -m venv .tools
  .tools/bin/python -m pip install -q --require-hashes -r scripts/uv-requirements.txt
fi
export UV_PYTHON_DOWNLOADS=never  # the machine's Python, never one downloaded at run time
extras=(); (( want_tests )) && extras=(--extra test)
if (( newest )); then
  # not the lock: every dependency at the newest release its range in pyproject.toml allows (uv.lock untouched)
  rm -rf .venv-newest
  .tools/bin/uv venv -q --python "$PY" .venv-newest
  .tools/bin/uv pip install -q --python .venv-newest/bin/python --upgrade -e ".[test]"
  npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error >/dev/null
  echo "setup: the newest releases in .venv-newest ($(.venv-newest/bin/python --version)), not the lock"
  exit 0
fi
.tools/bin/uv sync -q --frozen --python "$PY" "${extras[@]}"
if (( want_tests )); then
  # the identity provider the OIDC tests sign in with (panva/node-oidc-provider), exactly as its lock says
  if ! command -v npm >/dev/null; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
  fi
  npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "setup: ok, the lock installed ($(.venv/bin/python --version))"
