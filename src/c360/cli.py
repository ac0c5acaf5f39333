"""The ``c360`` command line.

Exit codes: 0 ok; 1 the check failed (breaking change, failed rows over the
threshold, or an SLO breached); 2 usage error (bad arguments, unreadable input or config).

Commands::

    c360 demo [--out DIR]
    c360 resolve INPUT... --out DIR [--config c360.toml] [--previous DIR]
    c360 resolve INPUT... --out DIR --engine spark [--spark-master URL]
    c360 contract check|diff|infer ...
    c360 report DIR [--open]
    c360 history DIR|URI [--json] [--last N] [--config c360.toml]
    c360 metrics compute|diff|explain|list ...
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from c360.exceptions import C360Error

app = typer.Typer(
    name="c360",
    help="Customer record unification: contracts, identity resolution, stable customer IDs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(exc: BaseException, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _relative_to(base: Path, location: Any) -> Any:
    """A location in a config file, taken relative to the file (URIs and absolute paths as is)."""
    if not isinstance(location, str) or "://" in location or Path(location).is_absolute():
        return location
    return str(base / location)


def _read_config(path: Path | None) -> tuple[Any, list[Any]]:
    """The resolve config and the declared sources of a ``c360.toml``."""
    from c360.config import ResolveConfig
    from c360.sources import Source, is_import_ref

    if path is None:
        return ResolveConfig(), []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise C360Error(f"cannot read configuration: {exc}", path=str(path)) from exc
    base = path.parent
    sources = []
    for spec in data.get("sources", []):
        spec = dict(spec)
        loc = spec.get("location")
        if isinstance(loc, list):
            spec["location"] = [_relative_to(base, part) for part in loc]
        elif loc:
            spec["location"] = _relative_to(base, loc)
        contract = spec.get("contract")
        if isinstance(contract, str) and contract and not is_import_ref(contract):
            spec["contract"] = _relative_to(base, contract)
        sources.append(Source.from_dict(spec))
    resolve_part = data.get(
        "resolve", {k: v for k, v in data.items() if k not in ("sources", "slo")}
    )
    try:
        cfg = ResolveConfig.from_dict(resolve_part)
    except C360Error as exc:
        raise exc.with_context(path=str(path)) from None
    return cfg, sources


def _read_slo(path: Path | None) -> Any:
    """The ``[slo]`` objectives of a ``c360.toml`` (none declared: an empty ``SloConfig``)."""
    from c360.history import SloConfig

    if path is None:
        return SloConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise C360Error(f"cannot read configuration: {exc}", path=str(path)) from exc
    try:
        return SloConfig.from_dict(data.get("slo"))
    except C360Error as exc:
        raise exc.with_context(path=str(path)) from None


def _history_location(history: str | None, no_history: bool) -> Any:
    """``--history`` / ``--no-history`` as the ``history=`` argument of ``Resolution.write``."""
    if no_history and history is not None:
        raise C360Error("give --history or --no-history, not both")
    return False if no_history else history


def _record_failure(
    exc: BaseException,
    out: Path,
    history: Any,
    optional: bool,
    started: Any,
    engine: str,
    config: Path | None,
) -> None:
    """Record a failed run in its history; a history that fails too is reported, not raised."""
    from c360.history import record_failure

    try:
        slo = _read_slo(config)
    except C360Error:
        slo = None  # the config is what failed: the objectives last recorded stay
    try:
        with _warnings_to_stderr():
            record_failure(
                exc,
                out,
                history=history,
                optional=optional,
                started_at=started,
                engine=engine,
                slo=slo,
            )
    except C360Error as err:
        typer.secho(f"error: the failed run was not recorded: {err}", err=True, fg=typer.colors.RED)


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show the run history's warnings (``--history-optional``) on stderr."""
    import warnings

    from c360.history import HistoryWarning

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", HistoryWarning)
        try:
            yield
        finally:
            for w in seen:
                if issubclass(w.category, HistoryWarning):
                    typer.secho(f"warning: {w.message}", err=True, fg=typer.colors.YELLOW)


@app.command()
def resolve(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="Files (parquet, csv, ndjson, arrow) in canonical columns."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("c360-out"),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="c360.toml with sources and options.")
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            "-p",
            help="Output directory of an earlier run whose customer IDs carry over.",
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "-m",
            help="A trained model to reuse instead of training (model.json or a run's directory).",
        ),
    ] = None,
    no_infer: Annotated[
        bool,
        typer.Option(
            "--no-infer", help="Do not infer column roles: require canonical names or a mapping."
        ),
    ] = False,
    report_pii: Annotated[
        str,
        typer.Option(
            "--report-pii",
            help="'mask' (default): report.html/json show no personal value in clear; "
            "'show': they do, and are written owner-only (0600).",
        ),
    ] = "mask",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="'local' (default) or 'spark': each INPUT (.parquet, or .csv read as strings) "
            "is one source named after its file stem (a 'source' column is refused); "
            "tables are written as Parquet "
            "directories of part files (polars and pyarrow read them).",
        ),
    ] = "local",
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master", help="Spark master URL for --engine spark (default: local[2])."
        ),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            help="Run history shared by runs: a SQLite file or a postgresql:// URI "
            "(default: history.sqlite in --out, carried forward).",
        ),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Keep no run history and no metrics.prom.")
    ] = False,
    history_optional: Annotated[
        bool,
        typer.Option(
            "--history-optional",
            help="A run history that cannot be opened is a warning, and the run goes on "
            "without it (default: an error).",
        ),
    ] = False,
    metrics: Annotated[
        Path | None,
        typer.Option(
            "--metrics",
            help="Metric definitions (YAML/TOML): also write metrics.parquet over this run's "
            "customers, and show them in the report (see c360 metrics).",
        ),
    ] = None,
) -> None:
    """Resolve records into unified customers and write the outputs as Parquet.

    Every run, failed ones included, is recorded in the run history (see
    ``c360 history``); ``[slo]`` in the config declares its objectives.
    """
    from datetime import UTC, datetime

    started = datetime.now(UTC)
    try:
        where = _history_location(history, no_history)
    except C360Error as exc:
        raise _fail(exc) from None
    try:
        with _warnings_to_stderr():
            _resolve(
                inputs,
                out,
                config,
                previous,
                model,
                no_infer,
                report_pii,
                quiet,
                engine,
                spark_master,
                where,
                history_optional,
                metrics,
            )
    except typer.Exit:
        raise
    except Exception as exc:  # recorded as a failed run, then reported as before
        _record_failure(exc, out, where, history_optional, started, engine, config)
        if isinstance(exc, C360Error):
            raise _fail(exc) from None
        raise


def _resolve(
    inputs: list[str] | None,
    out: Path,
    config: Path | None,
    previous: Path | None,
    model: Path | None,
    no_infer: bool,
    report_pii: str,
    quiet: bool,
    engine: str,
    spark_master: str | None,
    history: Any,
    history_optional: bool,
    metrics: Path | None = None,
) -> None:
    """``c360 resolve``: a C360Error is raised for the caller to record and report."""
    if engine == "spark" and metrics is not None:
        raise C360Error(
            "--metrics works with the local engine",
            hint="run `c360 metrics compute DEFINITIONS --run OUT` on the Spark run's output",
        )
    if engine == "spark":
        _resolve_spark(
            inputs,
            out,
            config,
            previous,
            model,
            spark_master,
            quiet,
            report_pii,
            history,
            history_optional,
        )
        return
    if engine != "local":
        raise C360Error(f"--engine must be 'local' or 'spark', got {engine!r}")
    if spark_master is not None:
        raise C360Error("--spark-master needs --engine spark")
    if report_pii not in ("mask", "show"):
        raise C360Error(f"--report-pii must be 'mask' or 'show', got {report_pii!r}")
    cfg, sources = _read_config(config)
    if no_infer:
        from dataclasses import replace

        from c360.config import ResolveConfig

        cfg = replace(cfg or ResolveConfig(), infer_columns=False)
    items: list[Any] = [*sources, *(inputs or [])]
    if not items:
        raise C360Error("no inputs: give files or a --config declaring [[sources]]")
    res = _run(
        items,
        cfg,
        out,
        previous,
        quiet,
        model=model,
        report_pii=report_pii,
        history=history,
        slo=_read_slo(config),
        history_optional=history_optional,
        metrics=_metrics_for(metrics) if metrics is not None else None,
    )
    if not quiet:
        if res.inferred_columns:
            typer.echo(
                "Columns inferred (save these [[sources]] in a c360.toml to pin or edit them):"
            )
            typer.echo(_inferred_sources_toml(res))
        typer.echo("Configuration used (save it and pass it with --config to edit):")
        typer.echo(res.config.to_toml())
        typer.echo(res.summary())
        typer.echo(f"outputs written to {out}/")
        typer.echo(_report_lines(out))


def _resolve_spark(
    inputs: list[str] | None,
    out: Path,
    config: Path | None,
    previous: Path | None,
    model: Path | None,
    master: str | None,
    quiet: bool,
    report_pii: str,
    history: Any,
    history_optional: bool,
) -> None:
    """``c360 resolve --engine spark`` (see ``c360.spark._cli``)."""
    if report_pii not in ("mask", "show"):
        raise C360Error(f"--report-pii must be 'mask' or 'show', got {report_pii!r}")
    cfg, declared = _read_config(config)
    from c360.spark._cli import run_spark

    summary = run_spark(
        inputs or [],
        out,
        master=master,
        config=cfg,
        declared=declared,
        previous=previous,
        model=model,
        report_pii="show" if report_pii == "show" else "mask",
        history=history,
        slo=_read_slo(config),
        history_optional=history_optional,
    )
    if not quiet:
        typer.echo(str(summary))
        typer.echo(f"outputs written to {out}/")
        typer.echo(_report_lines(out))


def _inferred_sources_toml(res: Any) -> str:
    """The sources whose columns were inferred, as ``[[sources]]`` TOML with the evidence."""
    from c360._cli_sources import sources_toml
    from c360.sources import Source

    where = {r["source"]: r["location"] for r in res.sources.iter_rows(named=True)}
    declared = []
    for name, inf in res.inferred_columns.items():
        spec: dict[str, Any] = {"name": name, "record_id": inf.record_id, "columns": inf.columns}
        if where.get(name) and where[name] != "(in memory)":
            spec["location"] = where[name]
        if inf.event_time is not None:
            spec["event_time"] = inf.event_time
        declared.append(Source(**spec))
    return sources_toml(declared, res.inferred_columns)


def _run(
    items: list[Any],
    cfg: Any,
    out: Path,
    previous: Path | None,
    quiet: bool,
    *,
    model: Path | None = None,
    report_pii: Any = "mask",
    history: Any = None,
    slo: Any = None,
    history_optional: bool = False,
    metrics: Any = None,
) -> Any:
    from c360._progress import show_progress
    from c360.exceptions import tag_stage
    from c360.pipeline import resolve as run

    with show_progress(not quiet):
        res = run(items, config=cfg, previous=previous, model=model)
        if callable(metrics):
            metrics = metrics(res)
    try:
        res.write(
            out,
            # the report compares row counts with the run before (a directory
            # holding only the history of failed runs has no report to compare)
            previous=previous
            if previous is not None
            else (out if (out / "report.json").exists() else None),
            report_pii=report_pii,
            history=history,
            slo=slo,
            history_optional=history_optional,
            metrics=metrics,
        )
    except BaseException as exc:
        tag_stage(exc, "write")
        raise
    return res


def _metrics_for(definitions: Path, **request: Any) -> Any:
    """Compute the metrics of ``definitions`` over a resolution, once it exists.

    The definitions are loaded (and checked) first: a bad file fails before
    resolving, not after.
    """
    from c360.metrics import compute, load_definitions

    defs = load_definitions(definitions)
    return lambda res: compute(defs, res, **request)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("c360-demo"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
) -> None:
    """Run the whole pipeline on the bundled CRM, billing, marketing and support exports."""
    from datetime import UTC, datetime

    from c360.datasets import demo_dir, demo_sources

    try:
        cfg, _ = _read_config(demo_dir() / "sources.toml")
        sources = demo_sources(as_of=datetime.now(UTC))
        metrics = _metrics_for(demo_dir() / "metrics.yaml", start=DEMO_METRICS_FROM)
        res = _run(list(sources), cfg, out, None, quiet, metrics=metrics)
    except C360Error as exc:
        raise _fail(exc) from None
    typer.echo(demo_summary(res))
    typer.echo(_metrics_lines(out))
    typer.echo(f"outputs written to {out}/")
    typer.echo(_report_lines(out))


#: The demo's metrics start where its invoices and logins do.
DEMO_METRICS_FROM = date(2023, 1, 1)


def _metrics_lines(out: Path) -> str:
    """The demo's customer metrics, the latest quarter's months, from metrics.parquet."""
    import polars as pl

    from c360.metrics import METRICS_FILE

    try:
        table = pl.read_parquet(out / METRICS_FILE)
    except (OSError, pl.exceptions.PolarsError):
        return ""
    shown = ("active_customers", "new_customers", "churned_customers", "churn_rate", "revenue")
    plain = table.filter(pl.col("metric").is_in(shown) & pl.col("cohort").is_null())
    months = sorted(plain["period_start"].unique())[-3:]
    lines = ["", "  customer metrics (metrics.yaml, one definition for every department):"]
    lines.append(f"    {'':<22}" + "".join(f"{m:%Y-%m}".rjust(12) for m in months))
    for name in shown:
        rows = plain.filter(pl.col("metric") == name)
        if not rows.height:
            continue
        values = dict(zip(rows["period_start"], rows["value"], strict=True))
        cells = "".join(_short(values.get(m)).rjust(12) for m in months)
        lines.append(f"    {name + ' ' + rows['version'][0]:<22}{cells}")
    return "\n".join(lines)


def _short(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) < 1 and not float(value).is_integer():
        return f"{value:.1%}"
    return f"{value:,.0f}"


def _report_lines(out: Path) -> str:
    """The report's path and the run's incidents, errors first, for the end of a summary."""
    import json

    from c360.report._model import REPORT_HTML, REPORT_JSON

    try:
        incidents = json.loads((out / REPORT_JSON).read_text(encoding="utf-8"))["incidents"]
    except (OSError, ValueError, KeyError):
        return f"report: {out / REPORT_HTML}"
    lines = [f"report: {out / REPORT_HTML}"]
    if not incidents:
        lines.append("incidents: none")
        return "\n".join(lines)
    errors = sum(1 for i in incidents if i.get("severity") == "error")
    lines.append(f"incidents: {len(incidents)} ({errors} error{'s' if errors != 1 else ''})")
    for i in incidents[:10]:
        lines.append(f"  {i.get('severity', ''):<8} {i.get('message', '')}")
    if len(incidents) > 10:
        lines.append(f"  ... and {len(incidents) - 10} more in the report")
    return "\n".join(lines)


def demo_summary(res: Any) -> str:
    """Records in, customers out, duplicates found per source pair, quarantined rows."""
    import polars as pl

    ids = pl.from_arrow(res.unified_ids)
    assert isinstance(ids, pl.DataFrame)
    q = pl.from_arrow(res.quarantine)
    assert isinstance(q, pl.DataFrame)
    lines = ["", "c360 demo: four departments' exports about the same people", ""]
    for row in res.sources.iter_rows(named=True):
        lines.append(
            f"  {row['source']:<10} {row['rows_read']:>6,} rows read   "
            f"{row['rows_quarantined']:>4,} quarantined   owner: {row['owner'] or '-'}"
        )
    lines += [
        "",
        f"  records in:         {ids.height + q.height:,}",
        f"  customers out:      {res.customers:,}",
        f"  duplicates merged:  {ids.height - res.customers:,}",
        f"  quarantined rows:   {q.height:,}",
        "",
        "  customers found in both sources (source pair: customers):",
    ]
    per = ids.group_by("customer_id").agg(pl.col("source").unique().sort())
    names = sorted(ids["source"].unique().to_list())
    for i, a in enumerate(names):
        for b in names[i:]:
            if a == b:
                n = (
                    ids.filter(pl.col("source") == a)
                    .group_by("customer_id")
                    .len()
                    .filter(pl.col("len") > 1)
                    .height
                )
                label = f"{a} (within)"
            else:
                n = per.filter(
                    pl.col("source").list.contains(a) & pl.col("source").list.contains(b)
                ).height
                label = f"{a} + {b}"
            lines.append(f"    {label:<24} {n:>6,}")
    if q.height:
        lines += ["", "  quarantine reasons (top 5):"]
        reasons = (
            q.group_by(pl.col("reason").str.split(":").list.first().alias("r"))
            .len()
            .sort("len", descending=True)
            .head(5)
        )
        for r, nrow in reasons.iter_rows():
            lines.append(f"    {nrow:>5,}  {r}")
    return "\n".join(lines)


def _register() -> None:
    from c360._cli_contract import contract_app
    from c360._cli_history import history
    from c360._cli_metrics import metrics_app
    from c360._cli_report import report
    from c360._cli_sources import sources_app

    app.add_typer(contract_app, name="contract")
    app.add_typer(sources_app, name="sources")
    app.add_typer(metrics_app, name="metrics")
    app.command(name="report")(report)
    app.command(name="history")(history)


def main() -> None:
    """Entry point of the ``c360`` script."""
    _register()
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)
