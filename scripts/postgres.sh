# Sourced by scripts/test.sh: find the PostgreSQL server the tests use, or install and start Debian's.
# The tests FAIL (never skip) without it, so this script stops the run when none can be had.
pg_url_default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
export ONELICENSE_TEST_POSTGRES_URL="${ONELICENSE_TEST_POSTGRES_URL:-$pg_url_default}"
if [[ "$ONELICENSE_TEST_POSTGRES_URL" == "$pg_url_default" ]] && ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "postgres: nothing on 127.0.0.1:5432, starting Debian's postgresql"
  if ! command -v pg_ctlcluster >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -n | tail -n 1)
  conf="/etc/postgresql/$version/main/pg_hba.conf"
  grep -q "onelicense-tests" "$conf" || sed -i '1i host all all 127.0.0.1/32 trust # onelicense-tests' "$conf"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && break; sleep 1; done
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\" | grep -q 1 || createdb test"
fi
if ! "${ONELICENSE_TEST_PYTHON:-.venv/bin/python}" - <<'PY'
import os, sys
import sqlalchemy as sa
url = os.environ["ONELICENSE_TEST_POSTGRES_URL"]
try:
    with sa.create_engine(url).connect() as c:
        c.execute(sa.text("select 1"))
except Exception as exc:
    sys.exit(f"postgres: cannot connect to {url}: {exc}")
PY
then
  echo "postgres: the PostgreSQL tests need a server; failing the run" >&2
  exit 1
fi
