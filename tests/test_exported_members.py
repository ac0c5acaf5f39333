"""The top-level namespace exports exactly the public names, sorted."""

import c360


def test_all_is_sorted_and_complete():
    assert c360.__all__ == sorted(c360.__all__)
    public = {
        n
        for n in dir(c360)
        if not n.startswith("_") and not isinstance(getattr(c360, n), type(c360))
    }
    assert public == set(c360.__all__) - {"__version__"}


def test_exceptions_all_derive_from_c360error():
    import inspect

    from c360 import exceptions

    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        assert inspect.isclass(cls) and issubclass(cls, c360.C360Error)


def test_core_import_does_not_pull_in_pandas_or_recordlinkage():
    import subprocess
    import sys

    code = (
        "import sys, polars as pl, c360;"
        "c360.resolve(pl.DataFrame({'source': ['a', 'b'], 'record_id': ['1', '2'], 'first_name': ['x', 'x']}));"
        "print(sorted(m for m in ('pandas', 'recordlinkage') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_import_c360_is_cheap_and_names_load_on_first_use():
    """``import c360`` loads no stage (not even numpy); each name imports its module when used."""
    import subprocess
    import sys

    code = (
        "import sys, c360\n"
        "print(sorted(m for m in ('c360.pipeline', 'c360.sources', 'numpy') if m in sys.modules))\n"
        "from c360 import resolve, ResolveConfig\n"
        "print(resolve.__module__, ResolveConfig.__module__, 'c360.pipeline' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["[]", "c360.pipeline c360.config True"], out.stdout
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = c360.nope
