#!/usr/bin/env bash
# Set up everything on a fresh machine and run the test suite.
#
#   bash scripts/test.sh [pytest arguments...]
#
# Creates the virtualenv at ${C360_VENV:-.venv} when missing, installs the
# package with its test extras, starts a throw-away PostgreSQL server
# (scripts/postgres.sh), exports C360_TEST_POSTGRES_URI, runs pytest with the
# venv's Python and stops the server on exit. Exits with pytest's exit code.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${C360_VENV:-.venv}"
PYTHON_BIN="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "test.sh: creating virtualenv $VENV" >&2
    "$PYTHON_BIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip >&2
"$PY" -m pip install --quiet -e '.[test]' >&2

PG_STARTED=0
cleanup() {
    if [[ "$PG_STARTED" == 1 ]]; then
        bash scripts/postgres.sh stop || true
    fi
}
trap cleanup EXIT

if [[ -n "${C360_TEST_POSTGRES_URI:-}" ]]; then
    echo "test.sh: using PostgreSQL at C360_TEST_POSTGRES_URI" >&2
else
    # Stop the server on exit only if this run started it (another run may share it).
    if ! bash scripts/postgres.sh status 2>/dev/null; then
        PG_STARTED=1
    fi
    C360_TEST_POSTGRES_URI="$(bash scripts/postgres.sh start)"
    export C360_TEST_POSTGRES_URI
    echo "test.sh: PostgreSQL at $C360_TEST_POSTGRES_URI" >&2
fi

set +e
"$PY" -m pytest "$@"
status=$?
set -e
exit "$status"
