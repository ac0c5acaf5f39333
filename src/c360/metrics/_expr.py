"""The small expression language of metric definitions: filters and derived formulas.

User text is parsed with Python's own grammar (``ast.parse``) and every node is
checked against a short list of allowed shapes before it becomes a polars
expression; nothing is ever evaluated as Python. Filters allow column names,
literals, comparisons (``== != < <= > >= in not-in is None``), ``and``/``or``/
``not``, ``date("2024-01-01")`` and ``metric(name)`` (a metric used as a filter,
evaluated per customer and period). Formulas of derived metrics allow the
aliases of their input metrics, numbers, ``+ - * /`` and parentheses.

Examples:
    >>> f = parse_filter("plan in ('pro', 'team') and mrr > 0")
    >>> sorted(f.columns), f.metrics
    (['mrr', 'plan'], ())
    >>> parse_filter("metric(invoices_90d) >= 3").metrics
    ('invoices_90d',)
    >>> parse_formula("churned / (churned + retained)").names
    ('churned', 'retained')
    >>> parse_filter("open('x').read() == ''")
    Traceback (most recent call last):
    ...
    ValueError: calls other than metric(name) and date('YYYY-MM-DD') are not allowed: open('x').read
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = ["Filter", "Formula", "metric_column", "parse_filter", "parse_formula"]

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}


def metric_column(name: str) -> str:
    """The column a ``metric(name)`` filter reads, once joined onto the rows."""
    return f"__metric__{name}"


def _parse(text: str, what: str) -> ast.expr:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what} must be a non-empty string")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse {what} {text!r}: {exc.msg}") from None
    return tree.body


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, str | int | float | bool)
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value
    if isinstance(node, ast.Call) and _call_name(node) == "date":
        return _date_arg(node)
    raise ValueError(f"expected a literal, found {ast.unparse(node)!r}")


def _call_name(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)


def _date_arg(node: ast.Call) -> dt.date:
    if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Constant):
        raise ValueError("date() takes one 'YYYY-MM-DD' string")
    try:
        return dt.date.fromisoformat(str(node.args[0].value))
    except ValueError:
        raise ValueError(f"date({node.args[0].value!r}) is not a YYYY-MM-DD date") from None


@dataclass(frozen=True)
class Filter:
    """A parsed filter: the text, the columns and the metrics it reads."""

    text: str
    tree: ast.expr
    columns: frozenset[str]
    metrics: tuple[str, ...]

    def to_expr(self) -> pl.Expr:
        """The filter as a boolean polars expression (``metric(m)`` reads `metric_column`)."""
        return _filter_expr(self.tree)


def _filter_expr(node: ast.expr) -> pl.Expr:
    if isinstance(node, ast.BoolOp):
        parts = [_filter_expr(v) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node.op, ast.And) else (out | p)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ~_filter_expr(node.operand)
    if isinstance(node, ast.Compare):
        terms = []
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            terms.append(_compare(left, op, right))
            left = right
        out = terms[0]
        for t in terms[1:]:
            out = out & t
        return out
    if isinstance(node, ast.Name):  # a boolean column on its own
        return pl.col(node.id).cast(pl.Boolean)
    raise ValueError(f"not a condition: {ast.unparse(node)!r}")


def _operand(node: ast.expr) -> pl.Expr:
    if isinstance(node, ast.Name):
        return pl.col(node.id)
    if isinstance(node, ast.Call) and _call_name(node) == "metric":
        return pl.col(metric_column(_metric_arg(node)))
    return pl.lit(_literal(node))


def _compare(left: ast.expr, op: ast.cmpop, right: ast.expr) -> pl.Expr:
    if isinstance(op, ast.In | ast.NotIn):
        if not isinstance(right, ast.Tuple | ast.List | ast.Set):
            raise ValueError(f"'in' needs a list of literals, found {ast.unparse(right)!r}")
        values = [_literal(v) for v in right.elts]
        expr = _operand(left).is_in(pl.lit(pl.Series(values)))
        return ~expr if isinstance(op, ast.NotIn) else expr
    if isinstance(op, ast.Is | ast.IsNot):
        if not (isinstance(right, ast.Constant) and right.value is None):
            raise ValueError("'is' compares with None only: use == for values")
        expr = _operand(left).is_null()
        return ~expr if isinstance(op, ast.IsNot) else expr
    fn = _COMPARE.get(type(op))
    if fn is None:  # pragma: no cover - every cmpop is handled above
        raise ValueError(f"operator {type(op).__name__} is not allowed")
    result: pl.Expr = fn(_operand(left), _operand(right))
    return result


def _metric_arg(node: ast.Call) -> str:
    if len(node.args) != 1 or node.keywords:
        raise ValueError("metric() takes one metric name")
    arg = node.args[0]
    if isinstance(arg, ast.Name):
        return arg.id
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    raise ValueError(f"metric() takes a metric name, found {ast.unparse(arg)!r}")


def _check_filter(node: ast.expr, columns: set[str], metrics: list[str]) -> None:
    """Reject every node shape a filter does not allow; collect names."""
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check_filter(v, columns, metrics)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check_filter(node.operand, columns, metrics)
    elif isinstance(node, ast.Compare):
        for side in [node.left, *node.comparators]:
            _check_operand(side, columns, metrics)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, ast.Tuple | ast.List | ast.Set):
                    raise ValueError(f"'in' needs a list of literals, found {ast.unparse(right)!r}")
            elif isinstance(op, ast.Is | ast.IsNot) and not (
                isinstance(right, ast.Constant) and right.value is None
            ):
                raise ValueError("'is' compares with None only: use == for values")
    elif isinstance(node, ast.Name):
        columns.add(node.id)
    else:
        raise ValueError(f"not a condition: {ast.unparse(node)!r}")


def _check_operand(node: ast.expr, columns: set[str], metrics: list[str]) -> None:
    if isinstance(node, ast.Name):
        columns.add(node.id)
    elif isinstance(node, ast.Call):
        name = _call_name(node)
        if name == "metric":
            m = _metric_arg(node)
            if m not in metrics:
                metrics.append(m)
        elif name == "date":
            _date_arg(node)
        else:
            raise ValueError(
                f"calls other than metric(name) and date('YYYY-MM-DD') are not allowed: {name}"
            )
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for v in node.elts:
            _literal(v)
    else:
        _literal(node)


def parse_filter(text: str) -> Filter:
    """Parse a filter; raise ``ValueError`` naming what is not allowed."""
    tree = _parse(text, "filter")
    columns: set[str] = set()
    metrics: list[str] = []
    _check_filter(tree, columns, metrics)
    return Filter(text.strip(), tree, frozenset(columns), tuple(metrics))


@dataclass(frozen=True)
class Formula:
    """A parsed formula of a derived metric: the text and the input aliases it reads."""

    text: str
    tree: ast.expr
    names: tuple[str, ...]

    def to_expr(self) -> pl.Expr:
        """The formula over columns named by the aliases; ``x / 0`` is null, not infinity."""
        return _formula_expr(self.tree)


def _formula_expr(node: ast.expr) -> pl.Expr:
    if isinstance(node, ast.BinOp):
        left, right = _formula_expr(node.left), _formula_expr(node.right)
        if isinstance(node.op, ast.Div):
            return pl.when(right == 0).then(None).otherwise(left / right)
        return _ARITH[type(node.op)](left, right)  # type: ignore[no-any-return]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_formula_expr(node.operand)
    if isinstance(node, ast.Name):
        return pl.col(node.id).cast(pl.Float64)
    return pl.lit(float(node.value))  # type: ignore[attr-defined]


def _check_formula(node: ast.expr, names: list[str]) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in (*_ARITH, ast.Div):
        _check_formula(node.left, names)
        _check_formula(node.right, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check_formula(node.operand, names)
    elif isinstance(node, ast.Name):
        if node.id not in names:
            names.append(node.id)
    elif (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        pass
    else:
        raise ValueError(
            f"a formula allows input names, numbers and + - * / only; found {ast.unparse(node)!r}"
        )


def parse_formula(text: str) -> Formula:
    """Parse a derived metric's formula; raise ``ValueError`` naming what is not allowed."""
    tree = _parse(text, "formula")
    names: list[str] = []
    _check_formula(tree, names)
    return Formula(text.strip(), tree, tuple(names))
