"""``c360 sources infer``: a ``[[sources]]`` draft for raw exports, and its TOML."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from c360.exceptions import C360Error

sources_app = typer.Typer(
    help="Declare sources: infer which column is which in raw exports.", no_args_is_help=True
)


def sources_toml(sources: list[Any], inferences: dict[str, Any]) -> str:
    """``[[sources]]`` blocks, each preceded by comments on how its columns were chosen.

    Examples:
        >>> import polars as pl
        >>> from c360.sources import Source
        >>> print(sources_toml([Source(name="crm", location="crm.csv", record_id="id")], {}))
        [[sources]]
        name = "crm"
        location = "crm.csv"
        record_id = "id"
        <BLANKLINE>
    """
    import tomli_w

    blocks = []
    for src in sources:
        lines = []
        inference = inferences.get(src.name)
        if inference is not None:
            lines.append(f"# {src.name}: columns inferred from headers and values")
            for g in inference.guesses:
                if g.role is not None:
                    lines.append(f"#   {g.column!r} -> {g.role} ({g.confidence:.2f}: {g.reason})")
            for g in inference.unmapped:
                lines.append(f"#   {g.column!r} unmapped: {g.reason}")
            if inference.hashed_key:
                lines.append(
                    "#   no column looks like a key: records are keyed by a hash of their "
                    "content (an edited row gets a new ID); set record_id to a key column"
                )
        spec = src.to_dict()
        scalars = {k: v for k, v in spec.items() if not isinstance(v, dict)}
        lines.append("[[sources]]")
        lines.append(tomli_w.dumps(scalars).rstrip())
        for key, table in spec.items():
            if isinstance(table, dict):
                lines += ["", f"[sources.{key}]", tomli_w.dumps(table).rstrip()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@sources_app.command("infer")
def infer(
    files: Annotated[list[Path], typer.Argument(help="Raw exports (csv, parquet, ndjson, ...).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the draft to this c360.toml.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Infer each file's column mapping and print (or write) a [[sources]] draft."""
    from c360.sources import inferred_source

    try:
        if out is not None and out.exists() and not force:
            raise C360Error(f"{out} exists; pass --force to overwrite it")
        sources, inferences = [], {}
        for f in files:
            src, inference = inferred_source(str(f))
            if out is not None:  # locations in a config file are relative to it
                rel = os.path.relpath(f.resolve(), out.resolve().parent)
                src = replace(src, location=rel)
            sources.append(src)
            if inference is not None:
                inferences[src.name] = inference
        text = sources_toml(sources, inferences)
    except C360Error as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}: {len(sources)} sources")
