"""The ``c360`` command line.

Exit codes: 0 ok; 1 the check failed (breaking change, or failed rows over the
threshold); 2 usage error (bad arguments, unreadable input or config).

Commands::

    c360 demo [--out DIR]
    c360 resolve INPUT... --out DIR [--config c360.toml] [--previous DIR]
    c360 resolve INPUT... --out DIR --engine spark [--spark-master URL]
    c360 contract check|diff|infer ...
    c360 report DIR [--open]
"""

from __future__ import annotations

import sys
import tomllib
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
    resolve_part = data.get("resolve", {k: v for k, v in data.items() if k != "sources"})
    try:
        cfg = ResolveConfig.from_dict(resolve_part)
    except C360Error as exc:
        raise exc.with_context(path=str(path)) from None
    return cfg, sources


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
) -> None:
    """Resolve records into unified customers and write the outputs as Parquet."""
    if engine == "spark":
        _resolve_spark(inputs, out, config, previous, model, spark_master, quiet, report_pii)
        return
    try:
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
        res = _run(items, cfg, out, previous, quiet, model=model, report_pii=report_pii)
    except C360Error as exc:
        raise _fail(exc) from None
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
) -> None:
    """``c360 resolve --engine spark`` (see ``c360.spark._cli``)."""
    try:
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
        )
    except C360Error as exc:
        raise _fail(exc) from None
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
) -> Any:
    from c360._progress import show_progress
    from c360.pipeline import resolve as run

    with show_progress(not quiet):
        res = run(items, config=cfg, previous=previous, model=model)
    res.write(
        out,
        previous=previous if previous is not None else (out if out.exists() else None),
        report_pii=report_pii,
    )
    return res


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
        res = _run(list(sources), cfg, out, None, quiet)
    except C360Error as exc:
        raise _fail(exc) from None
    typer.echo(demo_summary(res))
    typer.echo(f"outputs written to {out}/")
    typer.echo(_report_lines(out))


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
    from c360._cli_report import report
    from c360._cli_sources import sources_app

    app.add_typer(contract_app, name="contract")
    app.add_typer(sources_app, name="sources")
    app.command(name="report")(report)


def main() -> None:
    """Entry point of the ``c360`` script."""
    _register()
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)
