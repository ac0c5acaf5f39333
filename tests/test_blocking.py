import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c360.blocking import BlockingConfig, block_on, count_pairs, generate_pairs, rule_pair_count
from c360.exceptions import BlockingError, ConfigError


def brute_force(records: pl.DataFrame, config: BlockingConfig) -> set[tuple[int, int]]:
    rows = records.to_dicts()
    out = set()
    for i, j in itertools.combinations(range(len(rows)), 2):
        a, b = rows[i], rows[j]
        if config.link_type == "link" and a["source"] == b["source"]:
            continue
        if config.link_type == "dedupe" and a["source"] != b["source"]:
            continue
        for rule in config.rules:
            if all(a[k] is not None and a[k] == b[k] for k in rule.keys):
                out.add((i, j))
                break
    return out


keys = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))
record = st.fixed_dictionaries(
    {"source": st.sampled_from(["s1", "s2"]), "x": keys, "y": keys, "z": keys}
)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(record, min_size=0, max_size=30),
    link_type=st.sampled_from(["dedupe", "link", "dedupe_and_link"]),
    chunk=st.integers(1, 50),
)
def test_generation_equals_brute_force(rows, link_type, chunk):
    records = pl.DataFrame(
        rows, schema={"source": pl.String, "x": pl.String, "y": pl.String, "z": pl.String}
    )
    cfg = BlockingConfig(
        rules=(block_on("x", "y"), block_on("z"), block_on("y")),
        link_type=link_type,
        chunk_pairs=chunk,
        max_block_size=None,
    )
    chunks = list(generate_pairs(records, cfg))
    got = [(int(a), int(b)) for c in chunks for a, b in zip(c["_rid_l"], c["_rid_r"])]
    assert len(got) == len(set(got)), "a pair was generated twice"
    assert all(a < b for a, b in got)
    assert set(got) == brute_force(records, cfg)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(record, min_size=0, max_size=40),
    link_type=st.sampled_from(["dedupe", "link", "dedupe_and_link"]),
    rule=st.sampled_from([("x",), ("x", "y"), ("z", "x", "y")]),
    max_block=st.sampled_from([None, 1, 3, 6]),
)
def test_rule_pair_count_equals_generated_pairs(rows, link_type, rule, max_block):
    # the cheap count automatic configuration uses is the number of pairs blocking makes
    records = pl.DataFrame(
        rows, schema={"source": pl.String, "x": pl.String, "y": pl.String, "z": pl.String}
    )
    cfg = BlockingConfig(rules=(block_on(*rule),), link_type=link_type, max_block_size=max_block)
    generated = sum(c.height for c in generate_pairs(records, cfg))
    assert (
        rule_pair_count(records, rule, link_type=link_type, max_block_size=max_block) == generated
    )
    assert count_pairs(records, cfg)["pairs"][0] == generated
    # without a source column the records are one source
    alone = records.drop("source")
    generated = sum(c.height for c in generate_pairs(alone, cfg))
    assert rule_pair_count(alone, rule, link_type=link_type, max_block_size=max_block) == generated


def test_counts_before_generation_match_generated():
    records = pl.DataFrame({"source": ["a"] * 6 + ["b"] * 4, "k": ["x"] * 7 + ["y"] * 3})
    for lt, expected in (
        ("dedupe_and_link", 21 + 3),
        ("link", 6 * 1 + 0 + 0 * 3 + 3 * 0),
        ("dedupe", 15 + 3),
    ):
        cfg = BlockingConfig(rules=(block_on("k"),), link_type=lt)
        counted = count_pairs(records, cfg)["pairs"][0]
        generated = sum(c.height for c in generate_pairs(records, cfg))
        assert counted == generated == expected
    # link: x-group has 6 'a' and 1 'b' -> 6 cross pairs; y-group all 'b' -> 0
    assert (
        count_pairs(records, BlockingConfig(rules=(block_on("k"),), link_type="link"))["pairs"][0]
        == 6
    )


def test_rule_over_ceiling_raises_with_count_before_generating():
    records = pl.DataFrame({"k": ["same"] * 200})
    cfg = BlockingConfig(rules=(block_on("k"),), max_pairs_per_rule=1000, max_block_size=None)
    with pytest.raises(BlockingError, match="19,900 pairs"):
        next(iter(generate_pairs(records, cfg)))


def test_giant_block_is_skipped_and_reported():
    from c360.blocking import skipped_blocks

    records = pl.DataFrame({"k": ["junk"] * 50 + ["p", "p"]})
    cfg = BlockingConfig(rules=(block_on("k"),), max_block_size=10)
    pairs = pl.concat(list(generate_pairs(records, cfg)))
    assert pairs.height == 1
    rep = skipped_blocks(records, cfg)
    assert rep.to_dicts() == [{"rule": "k", "key": "junk", "records": 50}]


def test_unknown_column_is_a_clear_error():
    with pytest.raises(ConfigError, match="not in the records"):
        count_pairs(pl.DataFrame({"a": [1]}), BlockingConfig(rules=(block_on("b"),)))


def test_config_round_trip():
    cfg = BlockingConfig(rules=(block_on("a", "b"), block_on("c")), link_type="link")
    assert BlockingConfig.from_dict(cfg.to_dict()) == cfg


def test_null_keys_never_pair():
    records = pl.DataFrame({"k": [None, None, None]}, schema={"k": pl.String})
    assert (
        sum(c.height for c in generate_pairs(records, BlockingConfig(rules=(block_on("k"),)))) == 0
    )
    assert np.all(
        count_pairs(records, BlockingConfig(rules=(block_on("k"),)))["pairs"].to_numpy() == 0
    )


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", None]), st.sampled_from(["x", "y", None])),
        max_size=120,
    )
)
def test_key_groups_number_keys_in_hash_order_like_a_dense_rank(rows):
    # numbering by a join of the sorted distinct hashes = a dense rank of every hash
    from c360.blocking import _key_groups, _key_hash

    recs = pl.DataFrame(
        {"k1": [a for a, _ in rows], "k2": [b for _, b in rows]},
        schema={"k1": pl.String, "k2": pl.String},
    )
    got = _key_groups(recs, ["k1", "k2"])
    ranked = recs.select(_key_hash(["k1", "k2"]).rank("dense").alias("r"))["r"]
    assert got.dtype == np.int32
    assert got.tolist() == (ranked.fill_null(0).cast(pl.Int64) - 1).to_list()
