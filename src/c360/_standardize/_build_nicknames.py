"""Developer script: rebuild ``c360/data/nicknames.csv`` from the PyPI package ``nicknames``.

Run ``python -m c360._standardize._build_nicknames`` with ``nicknames`` installed. The
runtime never imports that package: it reads the generated CSV only.

The source data is a graph of ``name1 has_nickname name2`` edges. Connecting every
edge would chain almost every English name into one component (about 1,000 of
1,400 names), so the groups are built by a bounded, deterministic rule instead:

1. Every name may point at one *parent*: a name that lists it as a nickname, is
   longer, and has strictly more nicknames of its own (so chains always move
   towards more formal names and terminate). Among candidates a pinned name
   ([`PINNED`][PINNED]) wins, then the parent of the name's stem (``billy`` follows
   ``bill``), then the one with the most neighbours in common, then the one with
   more nicknames, then the alphabetically first. Pinned names never take a parent.
2. Following parents to the end gives each name a root. Roots whose own nickname
   sets overlap strongly (Jaccard >= [`MERGE_JACCARD`][MERGE_JACCARD]) are then merged, most
   similar first, as long as the merged group stays within [`MAX_GROUP`][MAX_GROUP]
   roots and holds at most one pinned name.
3. The canonical form of a group is its pinned name if it has one, else the root
   with the most nicknames, then the shorter, then the alphabetically first.
"""

from __future__ import annotations

import collections
import importlib
import sys
from pathlib import Path
from typing import Any

#: Common given names that must stay canonical (the source graph alone would, for
#: example, file "mary" under "marietta" and "anna" under "bryanna").
PINNED: frozenset[str] = frozenset(
    [
        "abigail",
        "albert",
        "alexander",
        "andrew",
        "ann",
        "anna",
        "anthony",
        "charles",
        "christopher",
        "daniel",
        "david",
        "edward",
        "elizabeth",
        "emily",
        "emma",
        "frederick",
        "gerald",
        "henry",
        "james",
        "jennifer",
        "john",
        "joseph",
        "katherine",
        "louis",
        "margaret",
        "mary",
        "michael",
        "patricia",
        "patrick",
        "richard",
        "robert",
        "ronald",
        "samuel",
        "stephen",
        "susan",
        "terence",
        "theodore",
        "thomas",
        "william",
    ]
)
MERGE_JACCARD = 0.3
MAX_GROUP = 8


def build(triplets: list[tuple[str, str]]) -> dict[str, str]:
    """Map each name in ``(name, nickname)`` edges to its canonical form (see module doc)."""
    nb: dict[str, set[str]] = collections.defaultdict(set)
    out: dict[str, set[str]] = collections.defaultdict(set)
    par: dict[str, set[str]] = collections.defaultdict(set)
    for a, b in triplets:
        if a == b:
            continue
        nb[a].add(b)
        nb[b].add(a)
        out[a].add(b)
        par[b].add(a)
    names = sorted(nb)

    parent: dict[str, str] = {}
    # shorter names first, so that a diminutive can follow its stem ("billy" -> "bill")
    for n in sorted(names, key=lambda x: (len(x), x)):
        cands = [m for m in par[n] if len(m) > len(n) and len(out[m]) > len(out[n])]
        if n in PINNED or not cands:
            parent[n] = n
            continue
        stems = {parent[s] for s in nb[n] if 3 <= len(s) < len(n) and n.startswith(s)}

        def key(m: str, n: str = n, stems: set[str] = stems) -> tuple[Any, ...]:
            return (m in PINNED, m in stems, len(nb[n] & nb[m]), len(out[m]), [-ord(c) for c in m])

        parent[n] = max(cands, key=key)
    root: dict[str, str] = {}
    for n in names:
        m = n
        while parent[m] != m:
            m = parent[m]
        root[n] = m

    roots = sorted(set(root.values()))
    uf = {r: r for r in roots}
    members = {r: {r} for r in roots}

    def find(a: str) -> str:
        while uf[a] != a:
            uf[a] = uf[uf[a]]
            a = uf[a]
        return a

    def ojac(a: str, b: str) -> float:
        sa, sb = out[a] | {a}, out[b] | {b}
        return len(sa & sb) / len(sa | sb)

    pairs = sorted(
        ((ojac(a, b), a, b) for a in roots for b in nb[a] if b in uf and a < b),
        key=lambda x: (-x[0], x[1], x[2]),
    )
    for j, a, b in pairs:
        if j < MERGE_JACCARD:
            break
        ra, rb = find(a), find(b)
        if ra == rb or len(members[ra]) + len(members[rb]) > MAX_GROUP:
            continue
        if len((members[ra] | members[rb]) & PINNED) > 1:
            continue
        ra, rb = min(ra, rb), max(ra, rb)
        uf[rb] = ra
        members[ra] |= members.pop(rb)

    def canon_key(n: str) -> tuple[Any, ...]:
        return (n in PINNED, len(out[n]), -len(n), [-ord(c) for c in n])

    canon = {r: max(members[find(r)], key=canon_key) for r in roots}
    return {n: canon[root[n]] for n in names}


HEADER = """\
# Nickname -> canonical given name, used by c360.standardize.nickname_canonical.
# Generated by `python -m c360._standardize._build_nicknames` from the PyPI package
# "nicknames" {version} (https://github.com/carltonnorthern/nicknames),
# Copyright Carlton Northern and Nick Crews, licensed under the Apache License 2.0
# (http://www.apache.org/licenses/LICENSE-2.0). Modified: the name graph was reduced
# to one canonical name per bounded group; see docs/standardize.md for the rule.
# Names that map to themselves are omitted.
"""


def main() -> None:
    """Write the CSV next to the package data."""
    nicknames = importlib.import_module("nicknames")
    version = importlib.import_module("importlib.metadata").version("nicknames")
    triplets = [(t.name1, t.name2) for t in nicknames.name_triplets()]
    mapping = build(triplets)
    path = Path(__file__).resolve().parent.parent / "data" / "nicknames.csv"
    lines = [HEADER.format(version=version), "name,canonical\n"]
    lines += [f"{n},{c}\n" for n, c in sorted(mapping.items()) if n != c]
    path.write_text("".join(lines), encoding="utf-8")
    groups = collections.Counter(mapping.values())
    print(
        f"wrote {path}: {sum(n != c for n, c in mapping.items())} rows, "
        f"{len(groups)} groups, largest {groups.most_common(3)}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
