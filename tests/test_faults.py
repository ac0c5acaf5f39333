"""Faults: damaged bytes into every reader, and runs killed while writing.

Whatever bytes a file holds, reading it ends in one of three ways: rows
loaded, rows quarantined, or a ``C360Error`` that names the source; never a
bare exception, and every row read is counted once. A run killed at any point
of writing its outputs leaves the previous outputs readable, and the next run
clears what the killed one left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from c360.exceptions import C360Error
from c360.sources import Loaded, Source, load

HEADER = b"record_id,first_name,last_name,email,updated_at\n"


def _clean_csv(n: int) -> bytes:
    return HEADER + b"".join(
        f"C{i},Ann{i},Lee,a{i}@x.org,2024-01-0{1 + i % 9}\n".encode() for i in range(n)
    )


def _clean_ndjson(n: int) -> bytes:
    return b"".join(
        json.dumps({"record_id": f"N{i}", "first_name": f"Ann{i}", "email": f"a{i}@x.org"}).encode()
        + b"\n"
        for i in range(n)
    )


_damage = st.lists(
    st.tuples(
        st.sampled_from(
            ["truncate", "quote", "nul", "crlf", "latin1", "bad_byte", "cr", "dup_line", "bom"]
        ),
        st.floats(min_value=0, max_value=1),
    ),
    min_size=1,
    max_size=4,
)


def _apply(data: bytes, damage: list[tuple[str, float]]) -> bytes:
    for kind, where in damage:
        at = int(where * len(data))
        if kind == "truncate":
            data = data[: max(at, 1)]
        elif kind == "quote":
            data = data[:at] + b'"' + data[at:]
        elif kind == "nul":
            data = data[:at] + b"\x00" + data[at:]
        elif kind == "crlf":
            data = data[:at] + data[at:].replace(b"\n", b"\r\n", 3)
        elif kind == "cr":
            data = data[:at] + b"\r" + data[at:]
        elif kind == "latin1":
            data = data[:at] + "é".encode("latin-1") + data[at:]
        elif kind == "bad_byte":
            data = data[:at] + b"\xff\xfe" + data[at:]
        elif kind == "dup_line":
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            line = data[start : (end + 1 if end >= 0 else len(data))]
            data = data[:start] + line + data[start:]
        elif kind == "bom":
            data = b"\xef\xbb\xbf" + data
    return data


def _accounted(loaded: Loaded) -> None:
    """Every row read is in exactly one of valid and quarantine, under its own number."""
    assert loaded.rows_read == loaded.rows_valid + loaded.rows_quarantined
    numbers = [*loaded.valid["_row"].to_list(), *loaded.quarantine["row_number"].to_list()]
    assert len(numbers) == len(set(numbers)), "a row counted twice"
    assert all(n is not None and n >= 0 for n in numbers)


def _outcome(path: Path, fmt: str) -> Loaded | None:
    source = Source(name="crm", location=str(path), format=fmt, max_bad_fraction=0.5)  # type: ignore[arg-type]
    failure: C360Error | None = None
    try:
        loaded = load(source)
    except C360Error as err:
        failure = err
    if failure is not None:
        assert failure.source == "crm", str(failure)
        return None
    _accounted(loaded)
    return loaded


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(damage=_damage, n=st.integers(min_value=1, max_value=40))
def test_damaged_csv_loads_quarantines_or_fails_clearly(
    tmp_path: Path, damage: list[tuple[str, float]], n: int
) -> None:
    path = tmp_path / "crm.csv"
    data = _apply(_clean_csv(n), damage)
    path.write_bytes(data)
    loaded = _outcome(path, "csv")
    if loaded is not None and b'"' not in data and b"\r" not in data:
        # without quotes or bare CRs, records are lines: every non-blank data line is a row
        lines = [line for line in data.split(b"\n")[1:] if line.strip(b"\r")]
        assert loaded.rows_read == len(lines)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(damage=_damage, n=st.integers(min_value=1, max_value=40))
def test_damaged_ndjson_loads_quarantines_or_fails_clearly(
    tmp_path: Path, damage: list[tuple[str, float]], n: int
) -> None:
    path = tmp_path / "events.ndjson"
    data = _apply(_clean_ndjson(n), damage)
    path.write_bytes(data)
    loaded = _outcome(path, "ndjson")
    if loaded is not None:
        # one record per non-blank line, damaged or not
        assert loaded.rows_read == sum(1 for line in data.split(b"\n") if line.strip())


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
@pytest.mark.parametrize("cut", [0.0, 0.3, 0.7, 0.99])
def test_truncated_binary_files_fail_clearly(tmp_path: Path, fmt: str, cut: float) -> None:
    frame = pl.DataFrame({"record_id": [f"C{i}" for i in range(200)], "email": ["a@x.org"] * 200})
    whole = tmp_path / f"whole.{fmt}"
    frame.write_parquet(whole) if fmt == "parquet" else frame.write_ipc(whole)
    data = whole.read_bytes()
    path = tmp_path / f"crm.{fmt}"
    path.write_bytes(data[: int(cut * len(data))])
    with pytest.raises(C360Error) as info:
        load(Source(name="crm", location=str(path)))
    assert info.value.source == "crm"


# ------------------------------------------------------------ runs killed while writing

_KILLER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import c360, c360._frames, c360._output

    mode, inputs, out = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "files":  # killed after the first Parquet file of the outputs is written
        real = c360._frames.write_parquet_files
        def dying(jobs, *a, **k):
            real(jobs[:1], *a, **k)
            os._exit(9)
        c360._frames.write_parquet_files = dying
    elif mode == "rename":  # killed between moving the old outputs aside and the new in
        real_rename = Path.rename
        def dying_rename(self, target):
            result = real_rename(self, target)
            if ".previous-" in str(target):
                os._exit(9)
            return result
        Path.rename = dying_rename
    res = c360.resolve(inputs)
    res.write(out)
    """
)


def _ids(directory: Path) -> list[tuple[str, str, str]]:
    frame = pl.read_parquet(directory / "unified_ids.parquet")
    return sorted(frame.select("source", "record_id", "customer_id").rows())


@pytest.mark.parametrize("mode", ["files", "rename"])
def test_a_run_killed_while_writing_leaves_the_previous_outputs(tmp_path: Path, mode: str) -> None:
    import c360
    from c360.datasets import generate_people

    inputs = tmp_path / "people.parquet"
    generate_people(150, seed=3).records.write_parquet(inputs)
    out = tmp_path / "out"
    first = c360.resolve(str(inputs))
    first.write(out)
    before = _ids(out)

    script = tmp_path / "killer.py"
    script.write_text(_KILLER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script), mode, str(inputs), str(out)],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 9, done.stderr.decode()[-2000:]
    debris = sorted(
        p.name for p in tmp_path.iterdir() if p.name not in ("people.parquet", "killer.py")
    )
    if mode == "files":
        assert any(name.startswith(".out.writing-") for name in debris)
        assert _ids(out) == before  # untouched
    else:
        assert not out.exists() and any(name.startswith("out.previous-") for name in debris)
        # readers find the previous outputs where the killed run left them
        state = c360.ResolutionState.load(out)
        assert state is not None
        again = c360.resolve(str(inputs), previous=out)
        assert (
            sorted(
                pl.from_arrow(again.unified_ids).select("source", "record_id", "customer_id").rows()
            )
            == before
        )

    # the next run puts things right and removes the debris
    c360.resolve(str(inputs), previous=out).write(out)
    left = sorted(
        p.name for p in tmp_path.iterdir() if p.name not in ("people.parquet", "killer.py")
    )
    assert left == ["out"]
    assert _ids(out) == before  # same data, same previous: the same IDs
