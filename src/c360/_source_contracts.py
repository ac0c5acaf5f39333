"""The contract a source names, found: a file, ``"module:name"``, an object, or none.

A source's ``contract`` may be a contract file (c360's YAML/JSON or ODCS v3),
a [`Contract`][c360.contracts.Contract], a pandera polars schema, or
``"package.module:name"`` naming one of those (how a TOML file names a pandera
schema); ``None`` stands for the canonical contract. ``resolve_contract``
turns any of them into the contract that [`load`][c360.sources.load] checks
the source against; the names are imported from ``c360.sources``.
"""

from __future__ import annotations

import importlib
import re
from os import PathLike, fspath
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c360._contracts._pandera import PanderaContract, contract_from_pandera, is_pandera
from c360.exceptions import ConfigError

if TYPE_CHECKING:
    from c360.contracts import Contract

_IMPORT_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def is_import_ref(spec: str) -> bool:
    """Whether a contract ``spec`` is ``"package.module:name"`` rather than a file path.

    Examples:
        >>> is_import_ref("crm.schemas:Contacts"), is_import_ref("contracts/crm.yaml")
        (True, False)
    """
    return bool(_IMPORT_REF.match(spec)) and not Path(spec).exists()


def resolve_contract(spec: Any) -> Contract | PanderaContract:
    """The contract ``spec`` names: ``None`` (canonical), a file, ``"module:name"``, an object.

    Raises:
        ContractFileError: a file that cannot be read as a contract.
        ConfigError: a ``"module:name"`` that cannot be imported, or an object
            that is no contract.
    """
    from c360 import contracts as _contracts

    if spec is None:
        return _contracts.canonical_contract()
    if isinstance(spec, PathLike):
        spec = fspath(spec)
    if isinstance(spec, str) and is_import_ref(spec):
        module, _, attr = spec.partition(":")
        try:
            spec = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"cannot import contract {spec!r}: {exc}",
                column="contract",
                hint="name a pandera schema or Contract as 'package.module:name' "
                "importable from the working directory, or give a contract file",
            ) from None
    if isinstance(spec, str):
        return _contracts.Contract.load(spec)
    if isinstance(spec, _contracts.Contract):
        return spec
    if is_pandera(spec):
        return contract_from_pandera(spec)
    raise ConfigError(
        f"not a contract: {type(spec).__name__}",
        column="contract",
        hint="give a contract file, a Contract, or a pandera DataFrameSchema/DataFrameModel",
    )


def _contract_label(contract: Any) -> str:
    if isinstance(contract, str):
        return contract
    name = getattr(contract, "name", None) or getattr(contract, "__name__", None)
    return f"{type(contract).__name__} {name}" if name else type(contract).__name__
