"""The Apache Spark engine (issue 12): the heavy stages on a cluster.

Work in progress; every piece is tested against the local engine in
Spark's ``local[2]`` mode (see ``docs/spark.md`` for what is missing).

* [`session`][c360.spark.session]: a Spark session whose Python workers run
  this interpreter (so they import the same c360, polars and RapidFuzz).
* ``resolve(sources, config=None, spark=None, sample_records=200_000)``: one
  Spark DataFrame per source in canonical columns in, the local run's tables
  out as Spark DataFrames (``SparkResolution``), for a run without a
  previous one; configuration and training on the driver from a bounded
  sample (see ``c360.spark._resolve``). Loaded on first use, like the
  modules it runs, which import pyspark.

Needs the ``spark`` extra (``pip install 'c360[spark]'``: pyspark 4) and Java
17 or 21.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING, Any

from c360.exceptions import C360Error

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from c360.spark._resolve import SparkResolution, resolve

__all__ = ["SparkResolution", "resolve", "session"]


def __getattr__(name: str) -> object:
    if name in ("resolve", "SparkResolution"):
        from c360.spark import _resolve

        return getattr(_resolve, name)
    raise AttributeError(f"module 'c360.spark' has no attribute {name!r}")


def session(
    master: str | None = None, *, app_name: str = "c360", conf: dict[str, Any] | None = None
) -> SparkSession:
    """The active Spark session, or a new one (``local[2]`` unless ``master`` says otherwise).

    A new session's Python workers run ``sys.executable`` (the interpreter
    that imported c360; ``PYSPARK_PYTHON``, when set, wins), Spark's UI is
    off, shuffles use 8 partitions (a small machine's ``local`` mode; set
    ``spark.sql.shuffle.partitions`` in ``conf`` on a cluster) and Spark logs
    warnings only. An active session
    (a notebook's, a Databricks job's) is returned as it is.

    Raises:
        C360Error: pyspark is not installed, or no Java runtime is found.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise C360Error(
            "the Spark engine needs pyspark",
            hint="pip install 'c360[spark]' (pyspark 4; Java 17 or 21)",
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        raise C360Error(
            "the Spark engine needs a Java runtime and none was found",
            hint="install Java 17 (apt-get install openjdk-17-jre-headless) or set JAVA_HOME",
        )
    # PySpark starts Python workers with $PYSPARK_PYTHON (default: python3 on the
    # PATH), whatever spark.pyspark.python says; that python3 may not have c360
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master or "local[2]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
