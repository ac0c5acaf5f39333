#!/usr/bin/env bash
# Set up everything on a fresh machine and run the test suite.
#
#   bash scripts/test.sh [pytest arguments...]
#
# Creates the virtualenv at ${C360_VENV:-.venv} when missing, installs the
# package with its test extras (pyspark among them; Java 17 from Debian's
# packages when missing), starts a throw-away PostgreSQL server
# (scripts/postgres.sh), exports C360_TEST_POSTGRES_URI, runs pytest with the
# venv's Python in two worker processes (C360_TEST_WORKERS, 0 for one),
# without the tests marked slow unless -m selects, and stops the server on
# exit. Exits with pytest's exit code.
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

# Headless Chromium renders report.html in tests/test_report_browser.py (which
# fails under CI without it). Installed once from Debian's packages when missing;
# set C360_NO_BROWSER=1 to skip the install (the test then skips, outside CI).
if [[ -z "${C360_NO_BROWSER:-}" ]] && ! command -v chromium >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing chromium (apt-get)" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 \
            || echo "test.sh: could not install chromium; the browser test cannot run" >&2
    else
        echo "test.sh: chromium not found; install it (apt-get install chromium) for the browser test" >&2
    fi
fi

# Java 17 for the Spark engine's tests (pyspark comes with the test extras);
# installed once from Debian's packages when missing, like Chromium above.
if ! command -v java >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing openjdk-17-jre-headless (apt-get)" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; } >&2 \
            || echo "test.sh: could not install Java; the Spark tests cannot run" >&2
    else
        echo "test.sh: java not found; install openjdk-17-jre-headless for the Spark tests" >&2
    fi
fi

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

# Two worker processes (pytest-xdist) unless the caller chose (-n/--numprocesses,
# or C360_TEST_WORKERS=0 for one process): the suite is CPU-bound, the Spark
# tests most of all, and CI has two cores. --dist loadgroup runs all Spark
# tests on one worker, in one JVM (tests/conftest.py schedules them).
XDIST=()
case " $* " in
    *" -n"*|*" --numprocesses"*|*" -p no:xdist "*) ;;
    *) if [[ "${C360_TEST_WORKERS:-2}" != 0 ]]; then
           XDIST=(-n "${C360_TEST_WORKERS:-2}" --dist loadgroup)
       fi ;;
esac

# Tests marked slow (the larger Spark parity sets) are left out unless the
# caller selects with -m (bash scripts/test.sh -m slow runs them alone).
MARKS=()
case " $* " in
    *" -m "*|*" -m"*) ;;
    *) MARKS=(-m "not slow") ;;
esac

set +e
"$PY" -m pytest ${XDIST[@]+"${XDIST[@]}"} ${MARKS[@]+"${MARKS[@]}"} "$@"
status=$?
set -e
exit "$status"
