"""Column-role inference: raw exports resolve with no mapping written by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import c360
from c360._infer import THRESHOLD, infer_columns, normalise_header
from c360.cli import _register, app
from c360.datasets import demo_sources, load_demo, load_febrl
from c360.sources import Source, load
from c360.testing import assert_same_clusters

# a sibling module, loaded by path (the suite runs with --import-mode=importlib)
_spec = importlib.util.spec_from_file_location(
    "header_corpus", Path(__file__).with_name("header_corpus.py")
)
assert _spec is not None and _spec.loader is not None
corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus)
CORPUS, HOLDOUT, expected, make_frame = (
    corpus.CORPUS,
    corpus.HOLDOUT,
    corpus.expected,
    corpus.make_frame,
)

_register()
runner = CliRunner()


def _score(sets: dict[str, list[tuple[str, str | None, str]]]) -> tuple[float, float, list[str]]:
    tp = fp = fn = 0
    wrong = []
    for name in sets:
        inference = infer_columns(make_frame(name), source=name)
        got = {g.column: g.role for g in inference.guesses if g.role}
        want = expected(name)
        for col, role in got.items():
            if want.get(col) == role:
                tp += 1
            else:
                fp += 1
                wrong.append(f"{name}: {col!r} -> {role}, expected {want.get(col)}")
        for col, role in want.items():
            if got.get(col) != role:
                fn += 1
                wrong.append(f"{name}: {col!r} expected {role}, got {got.get(col)}")
    return tp / (tp + fp), tp / (tp + fn), wrong


def test_corpus_precision_and_recall():
    """40 export header sets in six languages, with decoys (goal: >= 0.97 / >= 0.95)."""
    sets = {**CORPUS, **HOLDOUT}
    assert len(sets) >= 30
    precision, recall, wrong = _score(sets)
    assert precision >= 0.97 and recall >= 0.95, (precision, recall, wrong)


def test_the_issue_example_resolves_without_a_mapping(tmp_path):
    csv = tmp_path / "crm_export.csv"
    csv.write_text(
        "Contact ID,First Name,Last Name,E-mail Address,Phone Number,DOB,Zip\n"
        "1,Ann,Lee,ann@x.io,212-555-0101,1980-01-02,10001\n"
        "2,Anne,Lee,ann@x.io,(212) 555-0101,1980-01-02,10001\n"
        "3,Bob,Ray,bob@y.io,415 555 0199,1975-03-04,94103\n"
    )
    res = c360.resolve(csv)
    inference = res.inferred_columns["crm_export"]
    assert inference.record_id == "Contact ID"
    assert dict(inference.columns) == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "E-mail Address": "email",
        "Phone Number": "phone",
        "DOB": "date_of_birth",
        "Zip": "postcode",
    }
    assert res.customers == 2
    assert sorted(pl.from_arrow(res.unified_ids)["record_id"].to_list()) == ["1", "2", "3"]
    source = next(s for s in res.report().data["sources"] if s["source"] == "crm_export")
    mapped = {g["column"]: g for g in source["inferred_columns"]["guesses"]}
    assert mapped["Zip"]["role"] == "postcode" and mapped["Zip"]["confidence"] >= THRESHOLD


def test_demo_resolves_the_same_mapped_by_hand_or_inferred():
    declared = c360.resolve(demo_sources())
    inferred = c360.resolve(load_demo())  # raw frames, no declarations
    assert set(inferred.inferred_columns) == {"crm", "billing", "marketing", "support"}
    assert declared.quarantine.num_rows == inferred.quarantine.num_rows
    assert_same_clusters(declared, inferred, check_ids=True)


def test_febrl_resolves_the_same_from_raw_headers():
    records, _ = load_febrl(1)
    canonical = records.drop("source")
    raw = canonical.select(
        pl.col("record_id").alias("rec_id"),
        pl.col("first_name").alias("Given Name"),
        pl.col("last_name").alias("Surname"),
        pl.col("address_line1").alias("Street Address"),
        pl.col("address_line2").alias("Address 2"),
        pl.col("city").alias("Suburb"),
        pl.col("postcode").alias("Postcode"),
        pl.col("state").alias("State"),
        pl.col("date_of_birth").alias("Date of Birth"),
        pl.col("national_id").alias("Soc. Sec. ID"),
        pl.col("country").alias("Country"),
    )
    by_hand = c360.resolve({"febrl": canonical})
    inferred = c360.resolve({"febrl": raw})
    mapping = inferred.inferred_columns["febrl"]
    assert mapping.record_id == "rec_id"
    assert len(mapping.columns) == 10, mapping.unmapped
    assert_same_clusters(by_hand, inferred, check_ids=True)


def test_ties_and_weak_evidence_are_left_unmapped_and_said():
    frame = pl.DataFrame(
        {
            "id": ["1", "2", "3"],
            "Email": ["a@x.io", "b@x.io", "c@x.io"],
            "E-mail": ["d@x.io", "e@x.io", "f@x.io"],
            "Phone": ["yes", "no", "yes"],  # a phone header over flags
        }
    )
    inference = infer_columns(frame)
    why = {g.column: g.reason for g in inference.unmapped}
    assert "tie for email" in why["Email"] and "tie for email" in why["E-mail"]
    assert "weak evidence for phone" in why["Phone"]
    assert "email" not in inference.columns.values()


def test_a_declared_mapping_always_wins_and_no_infer_is_strict(tmp_path):
    frame = pl.DataFrame({"Kundennummer": ["1"], "Mail": ["a@x.io"], "Vorname": ["Ann"]})
    declared = Source(name="s", data=frame, record_id="Kundennummer", columns={"Mail": "email"})
    loaded = load(declared, infer_columns=True)
    assert loaded.inference is None
    assert "first_name" not in loaded.valid.columns  # Vorname stays unmapped, as declared
    strict = c360.ResolveConfig(infer_columns=False)
    with pytest.raises(c360.C360Error, match="record_id"):
        c360.resolve({"s": frame}, config=strict)
    path = tmp_path / "s.csv"
    frame.write_csv(path)
    res = runner.invoke(app, ["resolve", str(path), "--out", str(tmp_path / "o"), "--no-infer"])
    assert res.exit_code == 2 and "record_id" in res.output


def test_cli_prints_and_writes_a_sources_draft_that_resolves_the_same(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    frame = make_frame("crm_de", rows=120)
    frame.write_csv(data / "kunden.csv")
    printed = runner.invoke(app, ["resolve", str(data / "kunden.csv"), "-o", str(tmp_path / "a")])
    assert printed.exit_code == 0, printed.output
    assert "Columns inferred" in printed.output and 'E-Mail-Adresse = "email"' in printed.output
    conf = tmp_path / "conf" / "c360.toml"
    conf.parent.mkdir()
    wrote = runner.invoke(app, ["sources", "infer", str(data / "kunden.csv"), "--out", str(conf)])
    assert wrote.exit_code == 0, wrote.output
    text = conf.read_text()
    assert 'record_id = "Kundennummer"' in text and "# kunden: columns inferred" in text
    assert "unmapped" in text  # the decoy "Erstellt von E-Mail" is listed, not mapped
    again = runner.invoke(app, ["resolve", "--config", str(conf), "-o", str(tmp_path / "b"), "-q"])
    assert again.exit_code == 0, again.output
    a = pl.read_parquet(tmp_path / "a" / "unified_ids.parquet")
    b = pl.read_parquet(tmp_path / "b" / "unified_ids.parquet")
    assert a.equals(b)
    refused = runner.invoke(app, ["sources", "infer", str(data / "kunden.csv"), "--out", str(conf)])
    assert refused.exit_code == 2 and "--force" in refused.output


def test_header_words_are_normalised_across_languages_and_styles():
    assert normalise_header("Código do cliente") == ["codigo", "do", "cliente"]
    assert normalise_header("billing_address_2") == ["billing", "address", "2"]
    assert normalise_header("LastModifiedDate") == ["last", "modified", "date"]
    assert normalise_header("N° client") == ["n", "client"]


def test_canonical_columns_keep_their_role_beside_look_alike_extras():
    people = c360.testing.sample_people(80, seed=5).records
    extra = people.with_columns(
        pl.col("email").alias("Email Address"),  # a copy under another name
        pl.col("phone").alias("Tel"),
    )
    plain = c360.resolve(people)
    more = c360.resolve(extra)
    for name, inference in more.inferred_columns.items():
        # "email" is canonical already: the copy under another name stays unmapped
        assert inference.columns.get("email") == "email", name
        assert "Email Address" not in inference.columns and "Tel" not in inference.columns
        roles = {g.column: g.role for g in inference.guesses}
        assert roles["email"] == "email" and roles["Email Address"] is None
    assert_same_clusters(plain, more, check_ids=True)
