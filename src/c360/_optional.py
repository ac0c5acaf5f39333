"""Import of optional dependencies with an error that says what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from c360.exceptions import ConfigError

_EXTRA = {
    "recordlinkage": "ml",
    "pandas": "ml",
    "adbc_driver_manager": "sql",
    "adbc_driver_sqlite": "sql",
    "adbc_driver_postgresql": "sql",
    "pyspark": "spark",
}


def import_optional(name: str) -> ModuleType:
    """Import ``name`` or raise a [`ConfigError`][ConfigError] naming the extra to install.

    Examples:
        >>> import_optional("json").__name__
        'json'
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        extra = _EXTRA.get(top)
        hint = f"pip install 'c360[{extra}]'" if extra else f"pip install {top}"
        raise ConfigError(f"optional dependency {top!r} is not installed", hint=hint) from exc
