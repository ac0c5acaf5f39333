"""c360: customer record unification.

Read every source, check it against its data contract, resolve which records
are the same person and emit one unified customer ID per person.

Examples:
    >>> import polars as pl
    >>> import c360
    >>> df = pl.DataFrame({"source": ["crm", "shop"], "record_id": ["1", "a"],
    ...                    "first_name": ["Ann", "Ann"], "last_name": ["Lee", "Lee"],
    ...                    "email": ["ann@x.io", "ANN@x.io"]})
    >>> c360.resolve(df).customers
    1
"""

import typing as _typing
from importlib import import_module as _import_module
from importlib import metadata as _metadata

if _typing.TYPE_CHECKING:
    from c360.config import EffectiveConfig, ResolveConfig
    from c360.contracts import Contract, canonical_contract
    from c360.exceptions import C360Error
    from c360.incremental import ResolutionState
    from c360.pipeline import Resolution, prepare, resolve
    from c360.sources import Source, infer_source, load

#: Where each top-level name lives. They are imported on first use, so that
#: ``import c360`` costs milliseconds (a job that only reads ``__version__``
#: or a CLI's ``--help`` does not pay for the pipeline).
_HOMES = {
    "C360Error": "c360.exceptions",
    "Contract": "c360.contracts",
    "EffectiveConfig": "c360.config",
    "Resolution": "c360.pipeline",
    "ResolutionState": "c360.incremental",
    "ResolveConfig": "c360.config",
    "Source": "c360.sources",
    "canonical_contract": "c360.contracts",
    "infer_source": "c360.sources",
    "load": "c360.sources",
    "prepare": "c360.pipeline",
    "resolve": "c360.pipeline",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'c360' has no attribute {name!r}")
    value = getattr(_import_module(home), name)
    globals()[name] = value  # once imported, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


try:
    __version__ = _metadata.version("c360")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "C360Error",
    "Contract",
    "EffectiveConfig",
    "Resolution",
    "ResolutionState",
    "ResolveConfig",
    "Source",
    "__version__",
    "canonical_contract",
    "infer_source",
    "load",
    "prepare",
    "resolve",
]
