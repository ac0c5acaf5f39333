"""``c360 metrics``: compute customer metrics, diff two definition versions, explain one.

Exit codes: 0 ok; 1 ``diff`` found a change that alters published values;
2 usage error (unreadable or invalid definitions, a missing table or column,
no run there).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from c360.exceptions import C360Error

metrics_app = typer.Typer(
    name="metrics",
    help="Customer metrics from versioned definitions: compute them over a run's unified "
    "customers, diff two versions of the definitions, explain one metric.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_BREAKING, EXIT_USAGE = 0, 1, 2


def _fail(exc: BaseException | str) -> NoReturn:
    from c360._cli_contract import _one_line

    message = exc if isinstance(exc, str) else _one_line(exc)
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(EXIT_USAGE)


def _tables(specs: list[str] | None) -> dict[str, str]:
    out = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise typer.BadParameter(f"{spec!r}: write --table NAME=PATH")
        out[name.strip()] = path.strip()
    return out


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option} {text!r} is not a YYYY-MM-DD date") from None


Definitions_ = Annotated[Path, typer.Argument(help="Metric definitions (YAML or TOML).")]
Tables = Annotated[
    list[str] | None,
    typer.Option(
        "--table",
        "-t",
        help="A table the definitions read, NAME=PATH (Parquet, CSV, NDJSON, Arrow); repeatable. "
        "Overrides the tables declared in the definitions file.",
    ),
]
Run = Annotated[
    Path | None,
    typer.Option("--run", "-r", help="Output directory of the run whose unified IDs to use."),
]


@metrics_app.command("compute")
def compute_cmd(
    definitions: Definitions_,
    run: Annotated[
        Path,
        typer.Option("--run", "-r", help="Output directory of the run whose unified IDs to use."),
    ],
    table: Tables = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the results (Parquet).")
    ] = Path("metrics.parquet"),
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Only this metric; repeatable.")
    ] = None,
    grain: Annotated[
        str | None, typer.Option(help="day, week, month, quarter or year (default: the file's).")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="First period: the one holding this date.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Last period: the one holding this date.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Only rows known by this date (YYYY-MM-DD, the whole day)."),
    ] = None,
    group_by: Annotated[
        list[str] | None, typer.Option("--group-by", "-g", help="A dimension; repeatable.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
) -> None:
    """Compute metrics over a run's unified customers and write metrics.parquet."""
    from c360._progress import show_progress
    from c360.metrics import compute

    tables = _tables(table)
    try:
        with show_progress(not quiet):
            res = compute(
                definitions,
                run,
                tables=tables,
                metrics=metric,
                grain=grain,
                start=_date(start, "--start"),
                end=_date(end, "--end"),
                as_of=_date(as_of, "--as-of"),
                group_by=group_by,
            )
        res.write(out)
    except C360Error as exc:
        _fail(exc)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc}")
    if not quiet:
        typer.echo(result_text(res))
    typer.echo(f"{res.table.height:,} rows written to {out}")


def result_text(res: object, periods: int = 6) -> str:
    """The latest periods of every ungrouped metric, and the rows no customer took."""
    import polars as pl

    from c360.metrics import MetricResult

    assert isinstance(res, MetricResult)
    lines = []
    table = res.table
    if table.height:
        extra = res.split_by
        plain = res.ungrouped()
        starts = sorted(plain["period_start"].unique().to_list())[-periods:]
        head = f"{'metric':<28}{'version':>9}" + "".join(f"{s!s:>12}" for s in starts)
        lines += [f"metrics ({table['grain'][0]}, last {len(starts)} periods):", head]
        for name in plain["metric"].unique(maintain_order=True):
            rows = plain.filter(pl.col("metric") == name)
            values = dict(zip(rows["period_start"], rows["value"], strict=True))
            cells = "".join(f"{_fmt(values.get(s)):>12}" for s in starts)
            lines.append(f"{name:<28}{rows['version'][0]:>9}{cells}")
        grouped = sorted(set(table["metric"]) - set(plain["metric"]))
        if grouped:
            lines.append(f"(split by {', '.join(extra)}, in the file: {', '.join(grouped)})")
    for row in res.unresolved.iter_rows(named=True):
        lost = row["unresolved"] + row["ambiguous"] + row["no_time"]
        if lost:
            lines.append(
                f"unresolved events in {row['semantic_model']}: {lost:,} of {row['rows']:,} rows "
                f"({row['unresolved']:,} match no customer, {row['ambiguous']:,} match several, "
                f"{row['no_time']:,} have no time)"
            )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"


@metrics_app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="The definitions as they were.")],
    new: Annotated[Path, typer.Argument(help="The definitions as they are now.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Say which changes alter published values; exit 1 on those."""
    from c360.metrics import diff_definitions, load_definitions

    try:
        result = diff_definitions(load_definitions(old), load_definitions(new))
    except C360Error as exc:
        _fail(exc)
    if as_json:
        doc = {
            "breaking": result.is_breaking,
            "changes": [
                {
                    "metric": c.metric,
                    "kind": c.kind,
                    "breaking": c.breaking,
                    "details": list(c.details),
                }
                for c in result.changes
            ],
        }
        typer.echo(json.dumps(doc, indent=1))
    else:
        typer.echo(result.summary())
    raise typer.Exit(EXIT_BREAKING if result.is_breaking else EXIT_OK)


@metrics_app.command("explain")
def explain_cmd(
    definitions: Definitions_,
    metric: Annotated[str, typer.Argument(help="The metric to explain.")],
    run: Run = None,
    table: Tables = None,
    grain: Annotated[str | None, typer.Option(help="The grain of the plan shown.")] = None,
) -> None:
    """Show a metric's definition, its inputs and (with --run) the polars query plan."""
    from c360.metrics import explain

    try:
        typer.echo(explain(definitions, metric, run, tables=_tables(table), grain=grain))
    except C360Error as exc:
        _fail(exc)


@metrics_app.command("list")
def list_cmd(definitions: Definitions_) -> None:
    """List the metrics of a definitions file: version, type, owner, definition hash."""
    from c360.metrics import load_definitions

    try:
        defs = load_definitions(definitions)
    except C360Error as exc:
        _fail(exc)
    typer.echo(f"{'metric':<28}{'version':>9}  {'type':<17}{'hash':<18}owner")
    for name, m in defs.metrics.items():
        digest = defs.definition_hash(name)
        typer.echo(f"{name:<28}{m.version:>9}  {m.type:<17}{digest:<18}{m.owner or '-'}")
