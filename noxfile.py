"""Developer sessions: ``nox -s tests lint typecheck docs bench``.

``nox`` (no arguments) runs tests, lint and typecheck. The tests session starts
a throw-away PostgreSQL server with ``scripts/postgres.sh`` unless
``C360_TEST_POSTGRES_URI`` already points at one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite and the doctests, with a PostgreSQL server."""
    session.install("-e", ".[test]")
    env: dict[str, str] = {}
    started = False
    if not os.environ.get("C360_TEST_POSTGRES_URI"):
        uri = subprocess.run(
            ["bash", str(ROOT / "scripts" / "postgres.sh"), "start"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        env["C360_TEST_POSTGRES_URI"] = uri
        started = True
        session.log(f"PostgreSQL at {uri}")
    try:
        # two workers, the Spark tests on one, and no slow tests, as test.sh
        # (``nox -s slow`` runs those)
        args = session.posargs or [
            "-n", "2", "--dist", "loadgroup", "-m", "not slow", "tests", "src/c360"
        ]  # fmt: skip
        session.run("python", "-m", "pytest", *args, env=env)
    finally:
        if started:
            subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "stop"], check=False)


@nox.session
def slow(session: nox.Session) -> None:
    """The tests marked slow: the larger Spark parity runs (FEBRL 2, 3, 96k generated records)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-m", "slow", *(session.posargs or ["tests"]))


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff over the package, tests, examples and benchmarks."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "examples", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Mypy, strict, over src/c360 (settings in pyproject.toml)."""
    session.install("-e", ".[lint]")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site, failing on any warning."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks: ``python -m benchmarks`` if it exists, else each script."""
    session.install("-e", ".[bench]")
    bench_dir = ROOT / "benchmarks"
    if (bench_dir / "__main__.py").exists():
        session.run("python", "-m", "benchmarks", *session.posargs)
        return
    scripts = sorted(p for p in bench_dir.glob("*.py") if not p.name.startswith("_"))
    if not scripts:
        session.error("no benchmark scripts in benchmarks/")
    for script in scripts:
        session.run("python", str(script), *session.posargs)


if __name__ == "__main__":  # pragma: no cover - convenience: python noxfile.py -s tests
    sys.exit(subprocess.call([sys.executable, "-m", "nox", *sys.argv[1:]]))
