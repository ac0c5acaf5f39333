"""examples/sources_example.py runs and shows what the docs say it shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "sources_example.py"


def test_sources_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "== crm (csv, owner sales-ops)" in out
    assert "rows read 4, valid 2, quarantined 2" in out
    assert "line 4 has 3 field(s) where the header has 6" in out
    assert "updated_at" in out
    assert "== support (sql" in out
    assert "not valid UTF-8 at byte 43 (line 2" in out
