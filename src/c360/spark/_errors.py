"""Failed Spark jobs as c360 errors that name the stage and, when it can be found, the source.

A Spark failure reaches Python as a ``Py4JJavaError`` (a JVM stack trace
under one line of Java message), a ``PythonException`` (a Python worker's
traceback, wrapped) or another ``PySparkException`` (analysis errors: a
missing path or column). [`spark_stage`][c360.spark._errors.spark_stage]
turns any of them, raised while a stage runs, into a
[`C360Error`][c360.exceptions.C360Error] whose message names the stage and
carries the one line that says what went wrong; the original exception is
chained (``__cause__``) for the whole trace. When the stage reads sources
and the failure happened in one of them, each source is read again alone
(only on this error path) to name the one that fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from c360.exceptions import C360Error, tag_stage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["spark_error_summary", "spark_stage"]

_PYTHON_ERROR = re.compile(r"^\w[\w.]*(Error|Exception|Warning)\b.*$")


def spark_error_summary(exc: BaseException) -> str | None:
    """The line of a Spark failure that says what went wrong; ``None`` if it is not one.

    Examples:
        >>> spark_error_summary(ValueError("x")) is None
        True
    """
    kind = type(exc)
    names = {c.__module__ + "." + c.__name__ for c in kind.__mro__}
    if "py4j.protocol.Py4JJavaError" in names:
        text = str(exc)
        # "An error occurred while calling o41.parquet.\n: org.apache...: [CODE] message\n\tat ..."
        body = text.split("\n: ", 1)[-1].split("\n\tat ", 1)[0].strip()
        body = re.sub(r"^(?:[a-z]\w*\.)+\w+(?:Exception|Error): ", "", body)
        return _first_lines(body)
    if not any(n.startswith("pyspark.errors.") for n in names):
        return None
    text = str(exc)
    if "Traceback (most recent call last)" in text:
        lines = [line.strip() for line in text.splitlines() if _PYTHON_ERROR.match(line.strip())]
        if lines:
            return lines[-1]
    return _first_lines(text)


def _first_lines(text: str, limit: int = 400) -> str:
    """The first lines of ``text`` up to the JVM frames, at most ``limit`` characters."""
    lines = []
    for line in text.strip().splitlines():
        if line.lstrip().startswith("at ") or line.startswith("JVM stacktrace"):
            break
        lines.append(line.strip())
    out = " ".join(part for part in lines if part)
    return out if len(out) <= limit else out[: limit - 1] + "…"


@contextmanager
def spark_stage(name: str, sources: Mapping[str, DataFrame] | None = None) -> Iterator[None]:
    """Run a stage; a Spark failure in it becomes a ``C360Error`` naming the stage (and source).

    Args:
        name: the stage, as the report's ``stages`` name it.
        sources: the stage's input sources: on failure each is read alone
            (every column aggregated once) to find the one that fails.

    Raises:
        C360Error: the stage failed inside Spark.
    """
    try:
        yield
    except C360Error as exc:
        tag_stage(exc, name)
        raise
    except Exception as exc:
        summary = spark_error_summary(exc)
        if summary is None:
            tag_stage(exc, name)
            raise
        source = _failing_source(sources) if sources else None
        where = f" reading source {source!r}" if source else ""
        err = C360Error(
            f"the Spark job failed in stage {name}{where}: {summary}",
            hint="the chained exception holds Spark's whole trace; the Spark logs of the "
            "failed task say more",
        )
        tag_stage(err, name)
        raise err from exc


def _failing_source(sources: Mapping[str, DataFrame]) -> str | None:
    """The first source that fails when read alone, if any does."""
    from pyspark.sql import functions as F  # noqa: N812

    from c360.spark._columns import quoted

    for name, frame in sources.items():
        try:
            cols = [F.count(F.col(quoted(c))) for c in frame.columns]
            frame.agg(*(cols or [F.count(F.lit(1))])).collect()
        except Exception as exc:
            if spark_error_summary(exc) is None:
                raise
            return name
    return None
