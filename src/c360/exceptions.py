"""Errors raised by c360.

Every error derives from [`C360Error`][C360Error]. Errors carry the ``source``,
``column``, ``row`` and ``path`` they concern as attributes (``None`` when not
known) so that a caller can act on them without parsing messages::

    C360Error
    ├── ConfigError                 a config, spec or option is invalid
    ├── SourceError                 a whole source cannot be read
    │   ├── SourceReadError         unreadable file, bad encoding, truncated data, bad URI
    │   └── EmptySourceError        a source that holds no rows where rows are required
    ├── ContractError               data does not fit its contract as a whole
    │   ├── ColumnNotFoundError     a required column is missing (lists what exists)
    │   ├── SchemaChangeError       a breaking schema change, raised when policy is "fail"
    │   └── ContractFileError       a contract file cannot be parsed
    ├── BlockingError               a blocking rule would produce too many pairs
    ├── ModelError                  a model cannot be trained, loaded or applied
    ├── StateError                  a previous run's output is missing or inconsistent
    │   └── HistoryError            the run history cannot be opened, read or written
    └── MetricError                 a metric definition is invalid or cannot be computed

Row-level problems are never raised one by one: they go to the quarantine table.
"""

from __future__ import annotations

import contextlib

__all__ = [
    "BlockingError",
    "C360Error",
    "ColumnNotFoundError",
    "ConfigError",
    "ContractError",
    "ContractFileError",
    "EmptySourceError",
    "HistoryError",
    "MemoryBudgetError",
    "MetricError",
    "ModelError",
    "SchemaChangeError",
    "SourceError",
    "SourceReadError",
    "StateError",
]


class C360Error(Exception):
    """Base of every c360 error.

    Args:
        message: what was expected and what was found.
        source: name of the source concerned, if any.
        column: column concerned, if any.
        row: 0-based row number in the source, if any.
        path: file or URI concerned, if any.
        hint: a suggestion for fixing the problem.

    Examples:
        >>> err = C360Error("bad value", source="crm", column="email", row=3)
        >>> str(err)
        "bad value [source='crm', column='email', row=3]"
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        column: str | None = None,
        row: int | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.column = column
        self.row = row
        self.path = path
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = [
            f"{k}={v!r}"
            for k, v in (
                ("source", self.source),
                ("path", self.path),
                ("column", self.column),
                ("row", self.row),
            )
            if v is not None
        ]
        msg = self.reason
        if where:
            msg += " [" + ", ".join(where) + "]"
        if self.hint:
            msg += f"\nHint: {self.hint}"
        return msg

    def with_context(self, *, source: str | None = None, path: str | None = None) -> C360Error:
        """Fill in missing ``source`` / ``path`` context and refresh the message."""
        if self.source is None and source is not None:
            self.source = source
        if self.path is None and path is not None:
            self.path = path
        self.args = (self._format(),)
        return self


class ConfigError(C360Error):
    """A configuration, spec or option is invalid."""


class SourceError(C360Error):
    """A whole source cannot be read."""


class SourceReadError(SourceError):
    """A file or database cannot be read: missing, unreadable, bad encoding or truncated."""


class EmptySourceError(SourceError):
    """A source holds no rows where rows are required."""


class ContractError(C360Error):
    """A batch does not fit its contract as a whole."""


class ColumnNotFoundError(ContractError):
    """A required column is missing.

    Attributes:
        missing: the required columns that are absent.
        available: the columns that exist.
    """

    def __init__(
        self,
        missing: list[str],
        available: list[str],
        *,
        source: str | None = None,
        path: str | None = None,
        what: str = "required column",
    ) -> None:
        import difflib

        self.missing = list(missing)
        self.available = list(available)
        hints = []
        for m in self.missing:
            close = difflib.get_close_matches(m, self.available, n=1, cutoff=0.6)
            if close:
                hints.append(f"did you mean {close[0]!r} for {m!r}?")
        hint = (
            " ".join(hints) if hints else "map the source's own column names in Source(columns=...)"
        )
        plural = "s" if len(missing) > 1 else ""
        super().__init__(
            f"{what}{plural} {', '.join(map(repr, self.missing))} not found; "
            f"available: {', '.join(map(repr, self.available)) or '(none)'}",
            source=source,
            column=self.missing[0] if self.missing else None,
            path=path,
            hint=hint,
        )


class SchemaChangeError(ContractError):
    """A breaking schema change was found and the policy says to fail."""


class ContractFileError(ContractError):
    """A contract file cannot be parsed or has an invalid structure."""


class BlockingError(C360Error):
    """A blocking rule would generate more candidate pairs than allowed."""


class MemoryBudgetError(BlockingError):
    """The candidate pairs would need more memory than the run may use.

    Raised before pairs are generated when the largest blocking rule alone
    would not fit, or while comparing as soon as the pairs kept so far would
    not; the message names the stage, the pairs and the bytes needed.
    """


class ModelError(C360Error):
    """A model cannot be trained, loaded or applied."""


class StateError(C360Error):
    """A previous run's output is missing, incomplete or inconsistent."""


class HistoryError(StateError):
    """The run history cannot be opened, read or written (or is from a newer c360)."""


class MetricError(C360Error):
    """A metric definition is invalid, or its data does not fit it.

    Attributes:
        metric: the metric (or, with ``kind="semantic model"``, the model) concerned.
        field: the field of its definition concerned (``filter``, ``join.record_id``, ...).
        kind: what ``metric`` names, for the message.

    Examples:
        >>> str(MetricError("unknown column 'plann'", metric="churned", field="filter"))
        "metric 'churned', field 'filter': unknown column 'plann'"
    """

    def __init__(
        self,
        message: str,
        *,
        metric: str | None = None,
        field: str | None = None,
        path: str | None = None,
        hint: str | None = None,
        kind: str = "metric",
    ) -> None:
        self.metric = metric
        self.field = field
        where = ", ".join(
            f"{k} {v!r}" for k, v in ((kind, metric), ("field", field)) if v is not None
        )
        super().__init__(f"{where}: {message}" if where else message, path=path, hint=hint)


def tag_stage(exc: BaseException, stage: str) -> None:
    """Name the innermost pipeline stage ``exc`` passed through, as ``exc.c360_stage``.

    The run history records it as the stage a failed run failed in.

    Examples:
        >>> err = ValueError("x")
        >>> tag_stage(err, "score"); tag_stage(err, "cluster")
        >>> err.c360_stage
        'score'

    """
    if getattr(exc, "c360_stage", None) is None:
        # an exception type without a __dict__ cannot be tagged
        with contextlib.suppress(AttributeError):
            exc.c360_stage = stage  # type: ignore[attr-defined]
