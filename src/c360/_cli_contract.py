"""``c360 contract``: check data against a contract, diff two versions, infer, import, export.

Exit codes: 0 ok; 1 the check failed (breaking change, version bump too small,
failed rows over the threshold, a required column missing); 2 usage error (bad
arguments, unreadable data or contract file).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from c360.exceptions import C360Error, ContractError, ContractFileError

if TYPE_CHECKING:
    from c360.contracts import Contract

contract_app = typer.Typer(
    name="contract",
    help="Data contracts: check a file against one, diff two versions (c360 or ODCS files), "
    "infer one from data, import and export ODCS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _one_line(exc: BaseException) -> str:
    """Render an error as one line: message, context, then the hint in brackets."""
    text = str(exc)
    if isinstance(exc, C360Error) and exc.hint:
        text = text.replace(f"\nHint: {exc.hint}", f" (hint: {exc.hint})")
    return " ".join(text.split())


def _fail(exc: BaseException | str, code: int) -> NoReturn:
    message = exc if isinstance(exc, str) else _one_line(exc)
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _exit_code(exc: C360Error) -> int:
    """Return 1 when the data breaks its contract as a whole, else 2 (fix the call)."""
    if isinstance(exc, ContractError) and not isinstance(exc, ContractFileError):
        return EXIT_FAILED
    return EXIT_USAGE


def _load_contract(path: Path) -> Contract:
    from c360.contracts import Contract

    try:
        return Contract.load(path)
    except C360Error as exc:
        _fail(exc, EXIT_USAGE)


def _source_name(name: str | None, file: Path) -> str:
    if name:
        return name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", file.stem) or "source"


def parse_threshold(text: str) -> tuple[str, float]:
    """Read ``--max-failed-rows``: a count (``10``) or a fraction (``0.01`` or ``1%``).

    Examples:
        >>> parse_threshold("1%"), parse_threshold("0.05"), parse_threshold("10")
        (('fraction', 0.01), ('fraction', 0.05), ('count', 10.0))

    """
    raw = text.strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100
            kind = "fraction"
        elif "." in raw or "e" in raw.lower():
            value = float(raw)
            kind = "fraction"
        else:
            value = float(int(raw))
            kind = "count"
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither a row count (10) nor a fraction (0.01 or 1%)"
        ) from None
    if value < 0 or (kind == "fraction" and value > 1):
        raise typer.BadParameter(f"{text!r} must be a count >= 0 or a fraction between 0 and 1")
    return kind, value


def _write_frame(frame: object, path: Path) -> None:
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.write_csv(path)
    elif suffix in (".ndjson", ".jsonl"):
        frame.write_ndjson(path)
    elif suffix in (".parquet", ".pq", ""):
        from c360._frames import write_parquet

        write_parquet(frame, path)
    else:
        raise C360Error(
            f"cannot write the quarantine as {path.suffix!r}",
            path=str(path),
            hint="use .parquet, .csv or .ndjson",
        )


@contract_app.command("check")
def check(
    file: Annotated[
        Path, typer.Argument(help="Data file (csv, parquet, ndjson, arrow) in canonical columns.")
    ],
    contract: Annotated[
        Path, typer.Option("--contract", "-c", help="Contract file (.yaml/.yml/.json).")
    ],
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Source name (default: the file name).")
    ] = None,
    max_failed_rows: Annotated[
        str,
        typer.Option(
            "--max-failed-rows",
            help="Quarantined rows allowed before the check fails: "
            "a count (10) or a fraction (0.01, 1%).",
        ),
    ] = "0",
    quarantine_out: Annotated[
        Path | None,
        typer.Option(
            "--quarantine-out", help="Write quarantined rows here (.parquet, .csv, .ndjson)."
        ),
    ] = None,
    on_schema_change: Annotated[
        str,
        typer.Option("--on-schema-change", help="fail, warn or accept schema differences."),
    ] = "warn",
) -> None:
    """Validate FILE against a contract; exit 1 when too many rows fail."""
    from c360.contracts import SchemaNotice
    from c360.sources import Source, load

    threshold = parse_threshold(max_failed_rows)
    if on_schema_change not in ("fail", "warn", "accept"):
        raise typer.BadParameter(
            f"{on_schema_change!r} is not one of fail, warn, accept",
            param_hint="--on-schema-change",
        )
    resolved = _load_contract(contract)
    name = _source_name(source, file)
    try:
        probe = Source(name=name, location=str(file))
        available = probe.scan().collect_schema().names()
        keep = tuple(_extra_columns(available, probe))
        src = Source(name=name, location=str(file), keep=keep) if keep else probe
        with warnings.catch_warnings():
            # Notices are printed below, one per line, rather than as a Python warning.
            warnings.simplefilter("ignore")
            loaded = load(src, contract=resolved, on_schema_change=on_schema_change)  # type: ignore[arg-type]
    except C360Error as exc:
        _fail(exc, _exit_code(exc))
    for notice in loaded.notices:
        if isinstance(notice, SchemaNotice):
            if on_schema_change != "accept":
                typer.echo(f"notice: {notice}", err=True)
        else:
            typer.echo(f"note: {notice}", err=True)
    rows = loaded.rows_read
    failed = loaded.rows_quarantined
    validated = loaded.validated
    summary = validated.summary() if validated is not None else f"{name}: {rows} rows"
    typer.echo(summary)
    if failed:
        reasons = (
            loaded.quarantine.group_by("reason")
            .len()
            .sort(["len", "reason"], descending=[True, False])
        )
        for reason, count in reasons.head(5).iter_rows():
            typer.echo(f"  {count} x {reason}")
        if reasons.height > 5:
            typer.echo(f"  ... and {reasons.height - 5} other reasons")
    if quarantine_out is not None:
        try:
            _write_frame(loaded.quarantine, quarantine_out)
        except (OSError, C360Error) as exc:
            _fail(
                exc if isinstance(exc, C360Error) else f"cannot write {quarantine_out}: {exc}",
                EXIT_USAGE,
            )
        typer.echo(f"quarantine ({failed} rows) written to {quarantine_out}")
    kind, limit = threshold
    over = failed > limit if kind == "count" else (rows > 0 and failed / rows > limit)
    if over:
        allowed = f"{int(limit)} rows" if kind == "count" else f"{limit:.2%} of rows"
        typer.secho(
            f"FAILED: {failed} of {rows} rows quarantined; allowed {allowed}", err=True, fg="red"
        )
        raise typer.Exit(EXIT_FAILED)


def _extra_columns(available: list[str], source: object) -> list[str]:
    """Non-canonical columns of the file, kept so that the contract sees them."""
    from c360._canonical import CANONICAL_SCHEMA

    record_id = getattr(source, "record_id", "record_id")
    return [
        n
        for n in available
        if n not in CANONICAL_SCHEMA and n != record_id and not n.startswith("_")
    ]


@contract_app.command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="The old contract file.")],
    new: Annotated[Path, typer.Argument(help="The new contract file.")],
    allow_breaking: Annotated[
        bool,
        typer.Option(
            "--allow-breaking", help="Accept breaking changes when the major version is bumped."
        ),
    ] = False,
) -> None:
    """List the changes from OLD to NEW; exit 1 on a breaking change or a too-small version bump."""
    from c360.contracts import diff

    result = diff(_load_contract(old), _load_contract(new))
    typer.echo(result.report())
    if not result.version_ok:
        raise typer.Exit(EXIT_FAILED)
    if result.breaking and not allow_breaking:
        typer.secho(
            "FAILED: breaking change (pass --allow-breaking to accept it)", err=True, fg="red"
        )
        raise typer.Exit(EXIT_FAILED)


@contract_app.command("infer")
def infer(
    file: Annotated[Path, typer.Argument(help="Data file (csv, parquet, ndjson, arrow).")],
    name: Annotated[str, typer.Option("--name", "-n", help="Contract name.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the contract (.yaml/.yml/.json).")
    ],
    version: Annotated[str, typer.Option("--version", help="Contract version.")] = "1.0.0",
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Write a contract inferred from FILE, to edit and commit."""
    from c360.contracts import Contract
    from c360.sources import Source

    if out.exists() and not force:
        _fail(f"{out} exists; pass --force to overwrite it", EXIT_USAGE)
    try:
        frame = Source(name=_source_name(None, file), location=str(file)).scan()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inferred = Contract.infer(frame, name=name, version=version)
        for w in caught:
            typer.echo(f"note: {w.message}", err=True)
        inferred.save(out)
    except C360Error as exc:
        _fail(exc, EXIT_USAGE)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc}", EXIT_USAGE)
    typer.echo(
        f"wrote {out}: contract {inferred.name} {inferred.version} "
        f"with {len(inferred.columns)} columns"
    )


@contract_app.command("export")
def export_command(
    contract: Annotated[Path, typer.Argument(help="A contract file (c360 or ODCS).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write it (.yaml/.json).")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="'odcs' (ODCS v3, the default) or 'c360'.")
    ] = "odcs",
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Write CONTRACT in another format: an ODCS v3 document by default."""
    _convert(contract, out, format, force, schema=None)


@contract_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="An ODCS v3 document (.yaml/.json).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write it (.yaml/.json).")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="The format of FILE: 'odcs' (the default).")
    ] = "odcs",
    schema: Annotated[
        str | None,
        typer.Option("--schema", help="The schema object to read when FILE has several."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Write an ODCS contract as c360's own contract file (rules it cannot enforce are named)."""
    if format != "odcs":
        _fail(f"--format must be 'odcs' for import; got {format!r}", EXIT_USAGE)
    _convert(file, out, "c360", force, schema=schema)


def _convert(src: Path, out: Path, format: str, force: bool, *, schema: str | None) -> None:
    from c360.contracts import Contract

    if format not in ("odcs", "c360"):
        _fail(f"--format must be 'odcs' or 'c360'; got {format!r}", EXIT_USAGE)
    if out.exists() and not force:
        _fail(f"{out} exists; pass --force to overwrite it", EXIT_USAGE)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            contract = Contract.load(src, schema=schema)
        for w in caught:
            typer.echo(f"note: {w.message}", err=True)
        contract.save(out, format="odcs" if format == "odcs" else "c360")
    except C360Error as exc:
        _fail(exc, EXIT_USAGE)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc}", EXIT_USAGE)
    typer.echo(f"wrote {out}: contract {contract.name} {contract.version} as {format}")
