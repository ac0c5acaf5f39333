"""The ``c360`` command line.

Exit codes: 0 ok; 1 the check failed (breaking change, or failed rows over the
threshold); 2 usage error (bad arguments, unreadable input or config).

Commands::

    c360 demo [--out DIR]
    c360 resolve INPUT... --out DIR [--config c360.toml] [--previous DIR]
    c360 contract check|diff|infer ...
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


def _read_config(path: Path | None) -> tuple[Any, list[Any]]:
    """The resolve config and the declared sources of a ``c360.toml``."""
    from c360.config import ResolveConfig
    from c360.sources import Source

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
        if loc and "://" not in loc and not Path(loc).is_absolute():
            spec["location"] = str(base / loc)
        if spec.get("contract") and not Path(spec["contract"]).is_absolute():
            spec["contract"] = str(base / spec["contract"])
        sources.append(Source.from_dict(spec))
    resolve_part = data.get("resolve", {k: v for k, v in data.items() if k != "sources"})
    try:
        cfg = ResolveConfig.from_dict(resolve_part)
    except C360Error as exc:
        raise exc.with_context(path=str(path)) from None
    return cfg, sources


@app.command()
def resolve(
    inputs: Annotated[list[str] | None, typer.Argument(help="Files (parquet, csv, ndjson, arrow) in canonical columns.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("c360-out"),
    config: Annotated[Path | None, typer.Option("--config", "-c", help="c360.toml with sources and options.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
) -> None:
    """Resolve records into unified customers and write the outputs as Parquet."""
    from c360._progress import show_progress
    from c360.pipeline import resolve as run

    try:
        cfg, sources = _read_config(config)
        items: list[Any] = [*sources, *(inputs or [])]
        if not items:
            raise C360Error("no inputs: give files or a --config declaring [[sources]]")
        with show_progress(not quiet):
            res = run(items, config=cfg)
        res.write(out)
    except C360Error as exc:
        raise _fail(exc) from None
    if not quiet:
        typer.echo("Configuration used (save it with --config to edit):")
        typer.echo(res.config.to_toml())
        typer.echo(res.summary())
        typer.echo(f"outputs written to {out}/")


def _register() -> None:
    from c360._cli_contract import contract_app

    app.add_typer(contract_app, name="contract")


def main() -> None:
    """Entry point of the ``c360`` script."""
    _register()
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)
