"""Incremental resolution: new or changed records against a saved resolution.

A full run's output directory holds everything needed to resolve later
batches without recomputing: ``state/matching.parquet`` (the standardised
records and their customer IDs), ``state/records.parquet`` (the records as
loaded, for golden profiles), ``state/junk.parquet`` (values ignored for
matching), ``model.json`` and ``config.toml``.
[`ResolutionState`][ResolutionState] loads them once and builds, per blocking rule, a
sorted array of key hashes, so a batch record finds its candidates by binary
search instead of scanning a million rows. Each batch is then validated and
standardised like a full run, compared and scored with the saved model,
attached to existing customers or made a new customer, and given IDs by the
same rules as [`c360.ids`][c360.ids] (a record linking two customers merges them,
the one sharing most records keeps its ID, and only when both links reach the
clustering's ``bridge_probability``: otherwise the record joins the customer
it matches best). The stages are the full run's (``c360._stages``,
``c360._engine``): the same standardisation, junk nulling, level
computation, scoring, cannot-link guard and ID rules.

Limits, by design: a batch never *splits* an existing customer, and a changed
record (same source and record_id) is re-attached but the links of the old
version are not re-examined; run a full ``c360 resolve --previous`` from time
to time to revisit those.

Examples:
    >>> import tempfile, polars as pl, c360
    >>> from c360.datasets import generate_people
    >>> out = tempfile.mkdtemp()
    >>> _ = c360.resolve(generate_people(200, seed=1).records).write(out)
    >>> state = ResolutionState.load(out)
    >>> new = pl.DataFrame({"source": ["web"], "record_id": ["w1"], "first_name": ["Zed"],
    ...                     "last_name": ["Quimby"], "email": ["zed.q@example.net"]})
    >>> res = state.resolve(new)
    >>> res.unified_ids.num_rows, res.id_changes.column("change").to_pylist()
    (1, ['new'])
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from c360._display import Block, fmt_count
from c360._incremental_graph import (
    _Appended,
    _bridge_guard,
    _gather_segments,
    _Growable,
    _key_hashes,
    _KeyHash,
    _RuleIndex,
    find_candidates,
    guarded_labels,
    state_block_sizes,
)
from c360._incremental_ids import assign_batch_ids
from c360._incremental_session import BatchResult, _Session, batch_result, write_session
from c360._memory import no_hugepage_stalls
from c360._output import (
    CONFIG,
    JUNK,
    MATCHING,
    MODEL,
    existing,
    output_dir,
    read_state_frame,
)
from c360.blocking import BlockingRule, _RuleKeys
from c360.cluster import components
from c360.config import EffectiveConfig, ResolveConfig
from c360.exceptions import StateError
from c360.model import FellegiSunterModel

__all__ = ["BatchResult", "ResolutionState"]

#: Up to this many batch rows, per-row checks replace whole-frame queries.
_FEW_ROWS = 64


class ResolutionState:
    """A saved resolution, loaded once, against which batches are resolved.

    Use [`load`][load] on the output directory of ``c360 resolve``; call
    [`resolve`][resolve] for each batch; [`save`][save] brings the output directory
    (state, IDs, profiles, links, quarantine, id_changes) up to date.
    """

    def __init__(
        self,
        matching: pl.DataFrame,
        model: FellegiSunterModel,
        config: ResolveConfig,
        junk: pl.DataFrame | None = None,
        *,
        source_dir: Path | None = None,
        max_candidates: int | None = 100,
    ) -> None:
        if config.blocking is None or config.comparisons is None:
            raise StateError("the saved configuration lacks blocking rules or comparisons")
        if not isinstance(config, EffectiveConfig):
            config = config.with_choices(
                blocking=config.blocking,
                comparisons=config.comparisons,
                deterministic=config.deterministic or (),
            )
        self._main = matching
        # the chunks the state was loaded with (row groups of the file) are
        # never copied; compactions add one chunk each (see _compact)
        self._loaded_chunks, self._loaded_rows = matching.n_chunks(), matching.height
        # the output directory the state came from: its tables are the base
        # that save() updates
        self._dir = source_dir
        self._session = _Session()
        # rows appended since the last compaction
        self._extra = _Appended()
        self.model = model
        self.config: EffectiveConfig = config
        self.junk = junk
        #: most candidates one batch record is compared with (``None``: all),
        #: the most specific first (see ``_cap``)
        self.max_candidates = max_candidates
        #: candidates dropped by ``max_candidates`` since load
        self._capped = 0
        self._junk_values: dict[str, set[str]] | None = None
        self._index = [self._build(rule) for rule in config.blocking.rules]
        # rows appended since the last compaction, per rule: (hashes, rids), unsorted
        self._delta = self._empty_deltas()
        self._active_buf = _Growable(np.ones(matching.height, dtype=bool))
        self._cid = matching["customer_id"].to_list()
        self._remap: dict[str, str] = {}
        # row of each record's latest version, by source then record ID: with
        # only strings and ints inside, the big dicts stay out of the cyclic
        # collector (a dict keyed by tuples is tracked from its first insert,
        # and every young collection then walked its 10M entries: 115 ms)
        self._pos: dict[str, dict[str, int]] = {
            str(part["source"][0]): dict(
                zip(part["record_id"].to_list(), part["_i"].to_list(), strict=True)
            )
            for part in matching.select("source", "record_id")
            .with_row_index("_i")
            .partition_by("source", maintain_order=True)
        }
        counts = matching.group_by("customer_id").len()
        # records ever assigned to each customer (decides which ID survives a merge)
        self._history: dict[str, int] = dict(zip(counts["customer_id"], counts["len"], strict=True))
        # current records of each customer (a customer left with none is retired)
        self._members: dict[str, int] = dict(self._history)

    def _empty_deltas(self) -> list[tuple[_Growable, _Growable]]:
        return [
            (_Growable(np.zeros(0, dtype=np.uint64)), _Growable(np.zeros(0, dtype=np.int64)))
            for _ in self._index
        ]

    @property
    def _active(self) -> npt.NDArray[np.bool_]:
        """Whether each row is the current version of its record."""
        active: npt.NDArray[np.bool_] = self._active_buf.view
        return active

    def _display(self) -> Block:
        records = int(self._active.sum())
        session = self._session
        added = sum(f.height for f in session.records)
        rows = [
            ("records", fmt_count(records)),
            ("loaded from", str(self._dir) if self._dir is not None else "memory"),
            ("comparisons", str(len(self.model.comparisons))),
            (
                "since loaded",
                f"{session.batches} batches, {fmt_count(added)} records resolved"
                + (" (not saved)" if session.batches else ""),
            ),
            (
                "candidates",
                f"at most {self.max_candidates} per record"
                if self.max_candidates is not None
                else "unbounded",
            ),
        ]
        return Block("c360 ResolutionState", rows)

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()

    @property
    def size(self) -> int:
        """Number of rows held (including replaced versions of updated records)."""
        return int(self._active.shape[0])

    @property
    def matching(self) -> pl.DataFrame:
        """The current records with their customer IDs (latest version of each record)."""
        frame = self._rows()
        frame = frame.with_columns(customer_id=pl.Series(self._current_ids(), dtype=pl.String))
        active = self._active
        # filtering copies every column: not when no record was replaced
        return frame if active.all() else frame.filter(pl.Series(active))

    def _rows(self) -> pl.DataFrame:
        extra = self._extra.frame()
        if extra is not None:
            return pl.concat([self._main, extra], how="diagonal_relaxed")
        return self._main

    def _gather(self, rids: npt.NDArray[np.int64], columns: list[str]) -> pl.DataFrame:
        """Rows ``rids`` (positions in main then appended rows), in that order.

        Rows are taken from the main frame and each part of the appended rows
        separately, so a query never copies the whole state.
        """
        return _gather_segments([self._main, *self._extra.parts], rids, columns)

    def _resolve_id(self, cid: str) -> str:
        while cid in self._remap:
            cid = self._remap[cid]
        return cid

    def _current_ids(self) -> list[str]:
        return [self._resolve_id(c) for c in self._cid]

    # --- loading --------------------------------------------------------------
    @classmethod
    @no_hugepage_stalls()
    def load(cls, out_dir: str | Path, *, max_candidates: int | None = 100) -> ResolutionState:
        """Load the state written by a full run into ``out_dir``.

        ``max_candidates`` bounds the existing records one new record is
        compared with: a common name must not pull hundreds of candidates
        through its weakest rule. The most specific are kept: those sharing
        keys of the most blocking rules, then of the smallest blocks
        (``None`` keeps all; see "Bounded candidates" in matching.md).
        """
        out = output_dir(Path(out_dir))
        needed = [out / MATCHING, out / MODEL, out / CONFIG]
        missing = [str(p.relative_to(out)) for p in needed if not p.exists()]
        if missing:
            raise StateError(
                f"not a c360 output directory: missing {missing}",
                path=str(out),
                hint="run `c360 resolve ... --out DIR` first",
            )
        matching = read_state_frame(needed[0], "saved records")
        model = FellegiSunterModel.load(needed[1])
        config = EffectiveConfig.load(needed[2])
        junk_path = existing(out, JUNK)
        junk = read_state_frame(junk_path, "junk values") if junk_path else None
        state = cls(matching, model, config, junk, source_dir=out, max_candidates=max_candidates)
        state._warm_up()
        return state

    def _warm_up(self) -> None:
        """Pay once, at load, what the first call would: lookups and lazy imports.

        The term-frequency lookups of the model are built, phonenumbers'
        per-region metadata (imported on first use of a region) is loaded for
        every region, pyarrow's and scipy's lazy imports are done, and the cleaners run
        once on a sample row (package tables, transliteration), so that no
        call pays hundreds of milliseconds for them.
        """
        import phonenumbers

        # what a batch runs: import c360 imports nothing of it (its names load
        # on first use), so the state imports it here, not the first call
        import c360._engine
        import c360._inputs
        import c360._links
        import c360._progress
        import c360._stages
        import c360.contracts
        import c360.rules  # noqa: F401
        from c360._standardize._phone import _region_names
        from c360._standardize._rows import standardize_rows
        from c360.standardize import standardize

        # pyarrow imports pandas (when installed) on its first array built from
        # Python objects, as a record's quarantine notes are
        pa.array([0])
        _region_names()
        # tables read from package data, transliteration, the cleaners' sub-queries
        sample = {
            "first_name": "Дмитрий", "last_name": "O'Neil", "full_name": "Dr. Ann Lee",
            "email": "Ann.Lee+x@gmail.com", "phone": "0049 30 1234567",
            "date_of_birth": "11/05/1973", "address_line1": "12 Main St Apt 4",
            "postcode": "SW1A 1AA", "city": "London", "country": "GB",
            "company": "Acme Corp.", "national_id": "123-45-6789",
        }  # fmt: skip
        standardize(pl.LazyFrame({k: [v] for k, v in sample.items()})).collect()
        # and the single-record path (its patterns, jellyfish)
        frame = pl.DataFrame({k: [v] for k, v in sample.items() if k != "date_of_birth"})
        standardize_rows(frame, self.config.standardize)
        for column, table in self.model.tf.items():
            self.model._tf_bits(column, table, pl.Series([], dtype=pl.String))
        for region in phonenumbers.SUPPORTED_REGIONS:
            phonenumbers.PhoneMetadata.metadata_for_region(region)
        for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
            phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
        components(2, np.array([0]), np.array([1]))  # imports scipy's graph code
        # What is alive now (every import above, the state) lives as long as the
        # state. Python's cyclic collector walks all of it in each full
        # collection: 80-120 ms with a million-record state on a 2-core machine,
        # inside one call in every few hundred. Frozen, it is left out of those
        # walks; what it holds is still freed by reference counting.
        gc.collect()
        gc.freeze()

    def _build(self, rule: BlockingRule) -> _RuleIndex:
        hashed = _key_hashes(self._main, [rule])[0]
        if hashed is None:
            return _RuleIndex(rule, np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64))
        hashes, valid = hashed
        rids = np.flatnonzero(valid & self._active_main()).astype(np.int64)
        order = np.argsort(hashes[rids], kind="stable")
        return _RuleIndex(rule, hashes[rids][order], rids[order])

    def _active_main(self) -> npt.NDArray[np.bool_]:
        buf = getattr(self, "_active_buf", None)
        if buf is None:  # while the state is being built
            return np.ones(self._main.height, dtype=bool)
        head: npt.NDArray[np.bool_] = self._active[: self._main.height]
        return head

    # --- resolving ------------------------------------------------------------
    def _candidates(
        self, hashed: list[_KeyHash | None]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(batch row, existing rid) pairs sharing a blocking key (see ``find_candidates``)."""
        left, right, capped = find_candidates(
            self._index,
            [(dh.view, dr.view) for dh, dr in self._delta],
            hashed,
            self._active,
            max_block_size=self.config.blocking.max_block_size,
            max_candidates=self.max_candidates,
        )
        self._capped += capped
        return left, right

    #: Batches of at least this many accepted records show a progress bar
    #: (from the CLI or a notebook, or with ``progress="on"``).
    PROGRESS_FROM = 10_000

    @no_hugepage_stalls()
    def resolve(
        self, inputs: Any, *, run_id: str | None = None, progress: bool | str | None = None
    ) -> BatchResult:
        """Resolve a batch (same inputs as [`c360.resolve`][c360.resolve]) against the state.

        The state grows by the batch's accepted records, so consecutive calls
        see each other's records. ``progress``: as for ``c360.resolve``; only
        batches of ``PROGRESS_FROM`` (10,000) records or more show a bar.
        """
        from c360._inputs import _as_sources, _load_all
        from c360._progress import progress as progress_bar
        from c360._progress import resolve_progress
        from c360._stages import new_run_id

        start = time.perf_counter()
        run = run_id or new_run_id()
        loaded = _load_all(_as_sources(inputs), self.config)
        quarantine = (
            pl.concat([x.quarantine for x in loaded], how="vertical_relaxed") if loaded else None
        )
        frames = [x.valid for x in loaded if x.valid.height]
        if not frames:
            return self._result([], None, quarantine, [], run, start)
        valid = pl.concat(frames, how="diagonal_relaxed").sort("source", "record_id")
        show = valid.height >= self.PROGRESS_FROM and resolve_progress(progress)
        with progress_bar("Resolving batch", 4, enabled=show) as bar:
            result = self._resolve_valid(valid, quarantine, run, start, bar)
        # kept for save() once the batch is in the state (not if resolving failed)
        self._session.records.append(valid.select(c for c in valid.columns if c[0] != "_"))
        return result

    def _resolve_valid(
        self, valid: pl.DataFrame, quarantine: Any, run: str, start: float, bar: Any
    ) -> BatchResult:
        """Standardise, compare, score and cluster the batch's accepted records."""
        from c360._engine import Pairs, score
        from c360._links import _links_table
        from c360._stages import reliable_cannot_link, standardise
        from c360.rules import null_junk

        cfg = self.config
        batch = standardise(valid, cfg)
        # a batch need not carry every column (a sign-up form has name and e-mail):
        # what the state compares and blocks on and the batch lacks is unknown, null
        schema = self._main.schema
        absent = [c for c in schema if c not in batch.columns and c != "customer_id"]
        if absent:
            batch = batch.with_columns(pl.lit(None, dtype=schema[c]).alias(c) for c in absent)
        bar.advance()
        junk = self._batch_junk(batch)
        if junk is not None:
            batch = null_junk(batch, junk)
        nb = batch.height
        # candidates: batch x state by index lookup, batch x batch by brute force on keys
        hashed = _key_hashes(batch, [idx.rule for idx in self._index])
        bl, er = self._candidates(hashed)
        uniq_rids, er_local = np.unique(er, return_inverse=True)
        cols = [c for c in batch.columns if c in self._main.columns]
        existing = self._gather(uniq_rids.astype(np.int64), cols)
        local = pl.concat([batch.select(cols), existing], how="vertical_relaxed")
        left = [bl]
        right = [nb + er_local.astype(np.int64)]
        if nb > 1:
            from c360.blocking import generate_pairs

            own = batch.select(cols)
            keys = self._batch_keys(own, hashed)
            for chunk in generate_pairs(own, cfg.blocking, progress_enabled=False, keys=keys):
                left.append(chunk["_rid_l"].to_numpy())
                right.append(chunk["_rid_r"].to_numpy())
        pairs = Pairs.compared(local, np.concatenate(left), np.concatenate(right), cfg.comparisons)
        bar.advance()
        scored = score(self.model, pairs, cfg)
        bar.advance()
        # graph over batch records and existing customers
        existing_cid = [self._resolve_id(self._cid[int(r)]) for r in uniq_rids]
        cust_names = sorted(set(existing_cid))
        cust_node = {c: nb + i for i, c in enumerate(cust_names)}
        node = np.arange(local.height, dtype=np.int64)
        for j, c in enumerate(existing_cid):
            node[nb + j] = cust_node[c]
        n_nodes = nb + len(cust_names)
        link_l, link_r, certainty = scored.links()
        edge_l, edge_r = node[link_l], node[link_r]
        keep = _bridge_guard(edge_l, edge_r, certainty, nb, cfg.cluster.bridge_probability)
        labels = guarded_labels(
            local, node, n_nodes, nb, edge_l[keep], edge_r[keep], certainty[keep],
            reliable_cannot_link(cfg.cluster, self.model),
        )  # fmt: skip
        ids, changes = self._assign(batch, labels, cust_names, nb, run)
        unified = batch.select("source", "record_id").with_columns(
            customer_id=pl.Series(ids, dtype=pl.String)
        )
        acc = scored.accepted
        links = _links_table(
            local.select("source", "record_id"), link_l, link_r, scored.weight[acc],
            scored.probability[acc], scored.rule[acc], pairs.levels[acc], cfg.comparisons,
        )  # fmt: skip
        self._grow(batch, unified, hashed)
        bar.advance()
        return self._result([unified], links, quarantine, changes, run, start)

    def _batch_keys(self, batch: pl.DataFrame, hashed: list[_KeyHash | None]) -> list[_RuleKeys]:
        """The blocking keys of the pairs inside a batch, without blocks a full run would skip.

        A full run over the state and the batch skips a key shared by more
        than ``max_block_size`` records; judged on the batch alone, such a key
        gave every pair of its batch records (72.5M pairs through a city rule
        for a batch of 100,000 against 5M records, which ran the machine out
        of memory). Here a key counts its records in the state too.
        """
        from c360.blocking import rule_keys

        keys = rule_keys(batch, self.config.blocking)
        limit = self.config.blocking.max_block_size
        if limit is None:
            return keys
        in_state = state_block_sizes(
            self._index, [(dh.view, dr.view) for dh, dr in self._delta], hashed
        )
        out = []
        for rk, state in zip(keys, in_state, strict=True):
            if state is None or not rk.sizes.size:
                out.append(rk)
                continue
            inside = rk.group >= 0
            union = np.where(inside, rk.sizes[np.maximum(rk.group, 0)] + state, 0)
            group = np.where(union > limit, -1, rk.group).astype(rk.group.dtype)
            sizes = np.bincount(group[group >= 0], minlength=rk.sizes.size).astype(np.int64)
            out.append(_RuleKeys(group, sizes, rk.skipped))
        return out

    def _batch_junk(self, batch: pl.DataFrame) -> pl.DataFrame | None:
        """The junk values to null in the batch: the run's, and the batch's own placeholders.

        The run's junk values (found by frequency and shape over all its
        records) and the placeholder-looking values of the batch itself
        (``noemail@…``, ``0000000``), which a full run over the same records
        would find too. ``None`` when the batch holds none: a batch of a few
        records is checked value by value, without a query.
        """
        from c360.rules import placeholder_junk

        own = placeholder_junk(batch, self.config.junk)
        if self.junk is None or self.junk.height == 0:
            return own if own.height else None
        if batch.height > _FEW_ROWS:
            return self._with_run_junk(own)
        if self._junk_values is None:
            self._junk_values = {
                str(col[0]): set(group["value"].to_list())
                for col, group in self.junk.group_by("column")
            }
        hit = any(
            v in values
            for col, values in self._junk_values.items()
            if col in batch.columns
            for v in batch.get_column(col).cast(pl.String).to_list()
        )
        if hit:
            return self._with_run_junk(own)
        return own if own.height else None

    def _with_run_junk(self, own: pl.DataFrame) -> pl.DataFrame:
        """The run's junk values and the batch's own, as ``null_junk`` reads them."""
        assert self.junk is not None
        run = self.junk.select(pl.col("column").cast(pl.String), pl.col("value").cast(pl.String))
        return pl.concat([run, own.select("column", "value")])

    def _assign(
        self,
        batch: pl.DataFrame,
        labels: npt.NDArray[np.int64],
        customers: list[str],
        nb: int,
        run: str,
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """Customer IDs of the batch records (see ``assign_batch_ids``); merges applied."""
        srcs = batch["source"].to_list()
        rids = batch["record_id"].to_list()
        ids, changes, merged = assign_batch_ids(
            labels,
            customers,
            srcs,
            rids,
            replaced=self._previous_customers(srcs, rids),
            members=self._members,
            history=self._history,
            run=run,
        )
        for other, survivor in merged.items():
            self._merge(other, survivor)
        for new in {c["customer_id"] for c in changes if c["change"] in ("new", "split_from")}:
            self._history[new] = 0
        return ids, changes

    def _previous_customers(self, srcs: list[str], rids: list[str]) -> dict[int, str]:
        """Batch row → current customer of the record's earlier version, for updates."""
        active = self._active
        out: dict[int, str] = {}
        for i, (src, rid) in enumerate(zip(srcs, rids, strict=True)):
            pos = self._pos.get(src, {}).get(rid)
            if pos is not None and active[pos]:
                out[i] = self._resolve_id(self._cid[pos])
        return out

    def _merge(self, other: str, survivor: str) -> None:
        self._session.merged_away.add(other)
        self._remap[other] = survivor
        self._history[survivor] = self._history.get(survivor, 0) + self._history.pop(other, 0)
        self._members[survivor] = self._members.get(survivor, 0) + self._members.pop(other, 0)

    def _grow(
        self, batch: pl.DataFrame, unified: pl.DataFrame, hashed: list[_KeyHash | None]
    ) -> None:
        """Append the batch; an earlier version of the same record becomes inactive.

        Costs O(batch) amortised: appended rows (see [`_Appended`][_Appended])
        and their index entries (see [`_Growable`][_Growable]) are kept apart and
        folded into the main frame and sorted index every
        [`COMPACT_EVERY`][COMPACT_EVERY] rows.
        """
        add = batch.with_columns(customer_id=unified["customer_id"])
        # the main frame's columns and types, so that the parts stack plainly
        add = add.select(
            pl.col(c).cast(dtype) if c in add.columns else pl.lit(None, dtype).alias(c)
            for c, dtype in self._main.schema.items()
        )
        base = self.size
        keys = list(zip(add["source"].to_list(), add["record_id"].to_list(), strict=True))
        active = self._active
        for src, rid in keys:
            old = self._pos.get(src, {}).get(rid)
            if old is not None and active[old]:
                active[old] = False
                # the customer of the old version loses a record
                was = self._resolve_id(self._cid[old])
                self._session.touched.add(was)
                self._members[was] = self._members.get(was, 0) - 1
        self._active_buf.extend(np.ones(add.height, dtype=bool))
        for i, (src, rid) in enumerate(keys):
            self._pos.setdefault(src, {})[rid] = base + i
        ids = unified["customer_id"].to_list()
        self._session.touched.update(ids)
        self._cid.extend(ids)
        for c in ids:
            self._history[c] = self._history.get(c, 0) + 1
            self._members[c] = self._members.get(c, 0) + 1
        self._extra.append(add)
        for (dh, dr), h in zip(self._delta, hashed, strict=True):
            if h is None:
                continue
            hashes, valid = h
            rows = np.flatnonzero(valid)
            dh.extend(hashes[rows])
            dr.extend(base + rows.astype(np.int64))
        if self._extra.height >= self.COMPACT_EVERY:
            self._compact()

    COMPACT_EVERY = 50_000
    #: Chunks the main frame may hold before compaction copies it into one.
    MAX_CHUNKS = 32

    def _compact(self) -> None:
        """Fold appended rows into the main frame and the sorted indexes.

        The appended rows join the main frame as one more chunk: copying the
        whole frame at every compaction held two copies of the state at once
        and, at 5M records, let the allocator's resident memory climb by about
        2 GB per 100,000-record batch. When ``MAX_CHUNKS`` have piled up, the
        chunks compactions added are copied into one (see
        [`_tail_rechunked`][_tail_rechunked]); the indexes take the appended
        rows' entries by a merge (see [`_merged`][_merged]).
        """
        extra = self._extra.frame()
        if extra is not None:
            main = pl.concat([self._main, extra], how="diagonal_relaxed", rechunk=False)
            if main.n_chunks() > self._loaded_chunks + self.MAX_CHUNKS:
                main = self._tail_rechunked(main)
            self._main = main
        self._extra = _Appended()
        # one index at a time, so that only one is held twice
        for i, (idx, delta) in enumerate(zip(self._index, self._delta, strict=True)):
            self._index[i] = self._merged(idx, delta)
        self._delta = self._empty_deltas()

    def _tail_rechunked(self, main: pl.DataFrame) -> pl.DataFrame:
        """``main`` with the chunks compactions added copied into one.

        Only those are copied: copying the whole frame (as ``rechunk`` does)
        held the state twice, 1.6 GB more resident memory at 5M records, and
        the loaded chunks (the file's row groups, about 100,000 rows each at
        5M records) are large enough as they are.
        """
        head = main.slice(0, self._loaded_rows)  # views of the loaded chunks
        tail = main.slice(self._loaded_rows).rechunk()
        return pl.concat([head, tail], rechunk=False)

    def _merged(self, idx: _RuleIndex, delta: tuple[_Growable, _Growable]) -> _RuleIndex:
        """``idx`` with the appended rows' entries merged in and inactive rows left out.

        The same index [`_build`][_build] makes from the whole main frame, for
        a copy of the index arrays: rebuilding re-hashed the keys of every
        record at every compaction (5.7 s per compaction at 5M records, 0.7 s
        merged). Appended rows come after every indexed row,
        so among equal hashes they go last, in row order, as a stable sort
        puts them.
        """
        active = self._active
        hashes, rids = idx.hashes, idx.rids
        keep = active[rids]
        if not keep.all():  # records replaced by a newer version
            hashes, rids = hashes[keep], rids[keep]
        new_hashes, new_rids = delta[0].view, delta[1].view
        fresh = active[new_rids]
        new_hashes, new_rids = new_hashes[fresh], new_rids[fresh]
        order = np.argsort(new_hashes, kind="stable")
        new_hashes, new_rids = new_hashes[order], new_rids[order]
        at = np.searchsorted(hashes, new_hashes, side="right")
        return _RuleIndex(
            idx.rule, np.insert(hashes, at, new_hashes), np.insert(rids, at, new_rids)
        )

    def _result(
        self,
        unified: list[pl.DataFrame],
        links: pl.DataFrame | None,
        quarantine: Any,
        changes: list[dict[str, Any]],
        run: str,
        start: float,
    ) -> BatchResult:
        result = batch_result(unified, links, quarantine, changes, time.perf_counter() - start)
        self._session.add(result)
        return result

    def unified_ids(self) -> pa.Table:
        """Current ``source, record_id, customer_id`` of every record in the state."""
        return (
            self.matching.select("source", "record_id", "customer_id")
            .sort("source", "record_id")
            .to_arrow()
        )

    def save(self, out_dir: str | Path) -> None:
        """Write the grown state and every output table into ``out_dir``, atomically.

        ``out_dir`` (the directory the state was loaded from, or a new one)
        then reads like a full run's output that includes the batches resolved
        since [`load`][load] or the last save:

        * ``unified_ids``, ``state/matching.parquet``, ``state/records.parquet``:
          the current records (latest version of each) and customer IDs;
        * ``profiles``: rebuilt for the customers that gained or lost records,
          dropped for customers merged into others, kept for the rest;
        * ``links``, ``quarantine``, ``id_changes``: the earlier rows followed by
          the batches' rows (each change with its ``run_id``);
        * ``model.json``, ``config.toml``, ``state/junk.parquet``: as loaded;
          ``report.*`` is copied unchanged: it describes the full run.

        Everything is written to a sibling directory that replaces ``out_dir``
        by renames, as a full run's outputs are: a crash leaves the old
        directory whole. A state loaded from an output written before
        ``state/records.parquet`` existed cannot rebuild profiles; they are then
        copied unchanged, with a warning.
        """
        from c360._output import atomic_output
        from c360._stages import new_run_id

        out = Path(out_dir)
        atomic_output(
            out,
            new_run_id(),
            lambda tmp: write_session(
                tmp,
                self._dir,
                self._session,
                matching=self.matching,
                junk=self.junk,
                model=self.model,
                config=self.config,
                resolve_id=self._resolve_id,
            ),
            carry=[out, self._dir],
        )
        self._dir = out
        self._session = _Session()
