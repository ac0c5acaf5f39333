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

from importlib import metadata as _metadata

from c360.config import EffectiveConfig, ResolveConfig
from c360.contracts import Contract, canonical_contract
from c360.exceptions import C360Error
from c360.incremental import ResolutionState
from c360.pipeline import Resolution, prepare, resolve
from c360.sources import Source, infer_source, load

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
