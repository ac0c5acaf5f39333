"""scripts/postgres.sh starts a server that c360 can read from, and stops it cleanly."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from c360.sources import Source, collect_source

SCRIPT = Path(__file__).parents[1] / "scripts" / "postgres.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(action: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), action],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_postgres_script_start_read_stop() -> None:
    if (
        os.geteuid() != 0
        and not any(shutil.which(p) for p in ("initdb", "pg_ctl"))
        and not list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    ):
        pytest.skip("no PostgreSQL programs and not root to install them")
    port = free_port()
    # A fresh directory directly under /tmp: the server's user must be able to reach it.
    data = Path("/tmp") / f"c360-pg-script-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "C360_PG_PORT": str(port), "C360_PG_DIR": str(data)}
    started = run("start", env)
    try:
        assert started.returncode == 0, started.stderr
        uri = started.stdout.strip()
        assert uri == f"postgresql://postgres@127.0.0.1:{port}/c360test"
        assert run("status", env).returncode == 0
        assert run("start", env).stdout.strip() == uri  # idempotent
        dbapi = pytest.importorskip("adbc_driver_postgresql.dbapi")
        with dbapi.connect(uri) as con:
            cur = con.cursor()
            cur.execute(
                "CREATE TABLE people AS SELECT 'r1'::text AS record_id, 'ann@x.org'::text AS email"
            )
            con.commit()
            cur.close()
        out = collect_source(Source(name="pg", location=uri, table="people"))
        assert out.select("record_id", "email").rows() == [("r1", "ann@x.org")]
    finally:
        stopped = run("stop", env)
    assert stopped.returncode == 0, stopped.stderr
    assert not data.exists()
    assert run("status", env).returncode != 0
