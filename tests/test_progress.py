import polars as pl

import c360
from c360._progress import progress, resolve_progress, show_progress


def test_quiet_when_embedded(capsys):
    df = pl.DataFrame({"source": ["a", "b"], "record_id": ["1", "2"], "first_name": ["x", "x"]})
    c360.resolve(df)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_cli_switch_and_explicit_setting():
    assert resolve_progress(None) is False
    with show_progress():
        assert resolve_progress(None) is True
        assert resolve_progress("off") is False
    assert resolve_progress("on") is True


def test_no_bars_on_a_pipe(capsys):
    with show_progress(), progress("step", total=3) as bar:
        bar.advance(3)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
