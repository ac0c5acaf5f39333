"""The ``c360`` command line.

Exit codes: 0 ok; 1 the check failed (breaking change, or failed rows over the
threshold); 2 usage error (bad arguments, unreadable input or config).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="c360",
    help="Customer record unification: contracts, identity resolution, stable customer IDs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from c360._cli_contract import contract_app

    app.add_typer(contract_app, name="contract")


def main() -> None:
    """Entry point of the ``c360`` script."""
    _register()
    app()
