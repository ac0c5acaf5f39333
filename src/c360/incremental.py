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

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from c360._display import Block, fmt_count, fmt_records
from c360._incremental_graph import (
    _Appended,
    _bridge_guard,
    _cap,
    _expand,
    _gather_segments,
    _Growable,
    _key_hashes,
    _KeyHash,
    _node_values,
    _RuleIndex,
    _suspect,
)
from c360._memory import no_hugepage_stalls
from c360._output import (
    CONFIG,
    JUNK,
    MATCHING,
    MODEL,
    RECORDS,
    existing,
    output_dir,
    read_state,
    read_state_frame,
)
from c360.blocking import BlockingRule
from c360.cluster import cluster_links, components
from c360.config import EffectiveConfig, ResolveConfig
from c360.exceptions import StateError
from c360.ids import ID_CHANGES_SCHEMA, claim_previous_ids, fresh_id
from c360.model import FellegiSunterModel

__all__ = ["BatchResult", "ResolutionState"]

#: Up to this many batch rows, per-row checks replace whole-frame queries.
_FEW_ROWS = 64


@dataclass(slots=True, kw_only=True)
class BatchResult:
    """Outcome of resolving one batch incrementally.

    Attributes:
        unified_ids: ``source, record_id, customer_id`` of the batch's accepted records.
        links: accepted links touching the batch (same columns as a full run's).
        quarantine: rejected batch rows.
        id_changes: ``new`` customers and customers ``merged_into`` others.
        seconds: wall time of the batch.
    """

    unified_ids: pa.Table
    links: pa.Table
    quarantine: pa.Table
    id_changes: pa.Table
    seconds: float

    def _display(self) -> Block:
        import pyarrow.compute as pc

        n, q = self.unified_ids.num_rows, self.quarantine.num_rows
        kinds = pc.value_counts(self.id_changes.column("change")).to_pylist() if n else []
        changes = {str(k["values"]): int(k["counts"]) for k in kinds}
        customers = (
            int(pc.count_distinct(self.unified_ids.column("customer_id")).as_py()) if n else 0
        )
        rows = [
            ("records", fmt_records(n, q)),
            (
                "customers",
                f"{fmt_count(customers)} ({fmt_count(changes.get('new', 0))} new, "
                f"{fmt_count(changes.get('merged_into', 0))} merged into others)",
            ),
            ("links", fmt_count(self.links.num_rows)),
            ("milliseconds", f"{self.seconds * 1000:.1f}"),
        ]
        return Block("c360 BatchResult", rows)

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()


@dataclass(slots=True)
class _Session:
    """What the batches resolved since the state was loaded (or saved) added."""

    records: list[pl.DataFrame] = field(default_factory=list)  # accepted rows, as loaded
    links: list[pa.Table] = field(default_factory=list)
    quarantine: list[pa.Table] = field(default_factory=list)
    id_changes: list[pa.Table] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # customers that gained or lost records
    batches: int = 0
    merged_away: set[str] = field(default_factory=set)


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
        self._pos = {
            key: i
            for i, key in enumerate(
                zip(matching["source"].to_list(), matching["record_id"].to_list(), strict=True)
            )
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
        return frame.filter(pl.Series(self._active))

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

        from c360._standardize._phone import _region_names
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
        for column, table in self.model.tf.items():
            self.model._tf_bits(column, table, pl.Series([], dtype=pl.String))
        for region in phonenumbers.SUPPORTED_REGIONS:
            phonenumbers.PhoneMetadata.metadata_for_region(region)
        for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
            phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
        components(2, np.array([0]), np.array([1]))  # imports scipy's graph code

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
        """(batch row, existing rid) pairs sharing a blocking key.

        ``hashed`` holds the batch's key hashes per rule (see [`_key_hashes`][_key_hashes]).
        """
        cap = self.config.blocking.max_block_size if self.config.blocking else None
        lefts, rights, blocks = [], [], []
        for idx, h in zip(self._index, hashed, strict=True):
            if idx.hashes.size == 0 or h is None:
                continue
            hashes, valid = h
            rows = np.flatnonzero(valid)
            lo = np.searchsorted(idx.hashes, hashes[rows], side="left")
            hi = np.searchsorted(idx.hashes, hashes[rows], side="right")
            size = hi - lo
            if cap is not None:
                keep = size <= cap
                rows, lo, size = rows[keep], lo[keep], size[keep]
            if size.sum() == 0:
                continue
            left, right = _expand(rows, lo, size, idx.rids)
            lefts.append(left)
            rights.append(right)
            blocks.append(np.repeat(size, size))
        for (dh_buf, dr_buf), h in zip(self._delta, hashed, strict=True):
            dh, dr = dh_buf.view, dr_buf.view
            if dh.size == 0 or h is None:
                continue
            hashes, valid = h
            rows = np.flatnonzero(valid)
            if rows.size * dh.size <= 2_000_000:
                hit_row, hit_delta = np.nonzero(hashes[rows][:, None] == dh[None, :])
                lefts.append(rows[hit_row])
                rights.append(dr[hit_delta])
                blocks.append(np.bincount(hit_row, minlength=rows.size)[hit_row])
                continue
            order = np.argsort(dh, kind="stable")
            sh, sr = dh[order], dr[order]
            lo = np.searchsorted(sh, hashes[rows], side="left")
            size = np.searchsorted(sh, hashes[rows], side="right") - lo
            left, right = _expand(rows, lo, size, sr)
            lefts.append(left)
            rights.append(right)
            blocks.append(np.repeat(size, size))
        if not lefts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        left = np.concatenate(lefts)
        right = np.concatenate(rights)
        block = np.concatenate(blocks).astype(np.int64)
        active = self._active[right]
        left, right, block = left[active], right[active], block[active]
        pairs, inverse, shared = np.unique(
            np.column_stack([left, right]), axis=0, return_inverse=True, return_counts=True
        )
        limit = self.max_candidates
        if limit is not None and np.bincount(pairs[:, 0]).max(initial=0) > limit:
            smallest = np.full(pairs.shape[0], np.iinfo(np.int64).max)
            np.minimum.at(smallest, inverse.ravel(), block)
            keep = _cap(pairs[:, 0], pairs[:, 1], shared, smallest, limit)
            pairs = pairs[keep]
            self._capped += int((~keep).sum())
        return pairs[:, 0], pairs[:, 1]

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
        from c360._stages import standardise
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

            for chunk in generate_pairs(batch.select(cols), cfg.blocking, progress_enabled=False):
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
        labels = self._cluster(
            local, node, n_nodes, nb, edge_l[keep], edge_r[keep], certainty[keep]
        )
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

    def _cluster(
        self,
        local: pl.DataFrame,
        node: npt.NDArray[np.int64],
        n_nodes: int,
        nb: int,
        left: npt.NDArray[np.int64],
        right: npt.NDArray[np.int64],
        certainty: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.int64]:
        """Labels of batch records and customers, under the full run's cannot-link guard.

        The same ``cluster_links`` as a full run, on a graph whose nodes are the
        batch records and the existing customers; a customer node carries, per
        cannot-link column, the most common value among its candidate records
        (and a source declared distinct, if it holds one), so that a batch
        record with another national ID does not join it, nor bridge two
        customers that differ.
        """
        from c360._stages import reliable_cannot_link

        labels = components(n_nodes, left, right)
        cfg = reliable_cannot_link(self.config.cluster, self.model)
        cols = [c for c in cfg.cannot_link if c in local.columns]
        distinct = set(cfg.distinct_sources)
        if not cfg.guard or left.shape[0] == 0 or not (cols or distinct):
            return labels
        # per node, in Python: a batch holds few rows, and a polars query per call
        # would cost more than the guard itself
        values = {c: _node_values(local.get_column(c), node, n_nodes, nb) for c in cols}
        sources = local.get_column("source").to_list()
        held = [None] * n_nodes
        for j, s in enumerate(sources):
            if s in distinct:
                held[int(node[j])] = s
        if not _suspect(labels, left, certainty, values, held, cfg.bridge_probability):
            return labels  # exactly what cluster_links returns when nothing is suspect
        schema = dict.fromkeys(["source", *values], pl.String)
        nodes = pl.DataFrame({"source": held, **values}, schema=schema)
        return cluster_links(n_nodes, left, right, certainty, config=cfg, records=nodes).labels

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
        """Customer IDs of the batch records, by the ID rules of a full run.

        The overlap of each component holding batch records with the
        customers it touches goes to [`claim_previous_ids`][c360.ids.claim_previous_ids],
        as a full run's clusters and the previous run's customers do: a
        customer node brings its records (less those this batch replaces), a
        replaced record brings one record of its customer to the component
        its new version joined, and history (records ever) breaks ties. A
        customer keeps its ID for the records the batch did not touch.
        """
        srcs = batch["source"].to_list()
        rids = batch["record_id"].to_list()
        batch_comps = {int(c) for c in labels[:nb]}
        previous = self._previous_customers(srcs, rids)  # batch row -> customer replaced
        replaced: dict[str, int] = {}
        shared: dict[tuple[int, str], int] = {}
        for i, old in previous.items():
            replaced[old] = replaced.get(old, 0) + 1
            key = (int(labels[i]), old)
            shared[key] = shared.get(key, 0) + 1
        nodes_in_batch: set[str] = set()
        for j, cust in enumerate(customers):
            comp = int(labels[nb + j])
            if comp in batch_comps:
                nodes_in_batch.add(cust)
                rest = self._members.get(cust, 0) - replaced.get(cust, 0)
                shared[(comp, cust)] = shared.get((comp, cust), 0) + rest
        rows = sorted(
            ((comp, cust, n, self._history.get(cust, 0)) for (comp, cust), n in shared.items()
             if n > 0 and comp in batch_comps),
            key=lambda r: (-r[2], -r[3], r[1], r[0]),
        )  # fmt: skip
        # customers whose untouched records lie outside the batch's components keep their ID
        kept = {
            c for c in replaced
            if c not in nodes_in_batch and self._members.get(c, 0) > replaced[c]
        }  # fmt: skip
        claims = claim_previous_ids(rows, previous=set(replaced) | nodes_in_batch, kept=kept)
        changes = [{**row, "run_id": run} for row in claims.changes()]
        for other, survivor in claims.merged.items():
            if survivor is not None:
                self._merge(other, survivor)
        chosen = dict(claims.chosen)
        ids: list[str] = []
        for i in range(nb):
            comp = int(labels[i])
            if comp not in chosen:  # the component's first batch record is its anchor
                chosen[comp] = fresh_id(srcs[i], rids[i], self._history)
                self._history[chosen[comp]] = 0
                changes.append({**claims.fresh_change(comp, chosen[comp]), "run_id": run})
            ids.append(chosen[comp])
        return ids, changes

    def _previous_customers(self, srcs: list[str], rids: list[str]) -> dict[int, str]:
        """Batch row → current customer of the record's earlier version, for updates."""
        active = self._active
        out: dict[int, str] = {}
        for i, key in enumerate(zip(srcs, rids, strict=True)):
            pos = self._pos.get(key)
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
        for k in keys:
            old = self._pos.get(k)
            if old is not None and active[old]:
                active[old] = False
                # the customer of the old version loses a record
                was = self._resolve_id(self._cid[old])
                self._session.touched.add(was)
                self._members[was] = self._members.get(was, 0) - 1
        self._active_buf.extend(np.ones(add.height, dtype=bool))
        for i, k in enumerate(keys):
            self._pos[k] = base + i
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

    def _compact(self) -> None:
        """Fold appended rows into the main frame and the sorted indexes."""
        self._main = self._rows().rechunk()
        self._extra = _Appended()
        self._index = [self._build(idx.rule) for idx in self._index]
        self._delta = self._empty_deltas()

    def _result(
        self,
        unified: list[pl.DataFrame],
        links: pl.DataFrame | None,
        quarantine: Any,
        changes: list[dict[str, Any]],
        run: str,
        start: float,
    ) -> BatchResult:
        from c360._canonical import QUARANTINE_SCHEMA

        ids = (
            unified[0]
            if unified
            else pl.DataFrame(
                schema={"source": pl.String, "record_id": pl.String, "customer_id": pl.String}
            )
        )
        q = (
            quarantine.select(list(QUARANTINE_SCHEMA))
            if quarantine is not None
            else pl.DataFrame(schema=QUARANTINE_SCHEMA)
        )
        result = BatchResult(
            unified_ids=ids.to_arrow(),
            links=(links if links is not None else pl.DataFrame()).to_arrow(),
            quarantine=q.to_arrow(),
            id_changes=pl.DataFrame(changes, schema=ID_CHANGES_SCHEMA).to_arrow(),
            seconds=time.perf_counter() - start,
        )
        session = self._session
        session.batches += 1
        for kept, table in (
            (session.links, result.links),
            (session.quarantine, result.quarantine),
            (session.id_changes, result.id_changes),
        ):
            if table.num_rows:
                kept.append(table)
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
        atomic_output(out, new_run_id(), self._write_into)
        self._dir = out
        self._session = _Session()

    def _write_into(self, tmp: Path) -> None:
        """Write every file of the updated output directory into ``tmp`` (new)."""
        import shutil

        from c360._frames import write_parquet_files
        from c360._output import state_jobs

        src = self._dir
        current = self.matching
        ids = current.select("source", "record_id", "customer_id").sort("source", "record_id")
        raw = self._records()
        jobs = [
            (ids.to_arrow(), tmp / "unified_ids.parquet"),
            *state_jobs(tmp, current, self.junk, raw),
        ]
        self.model.save(tmp / MODEL)
        self.config.save(tmp / CONFIG)
        profiles = self._profiles(raw, ids)
        if profiles is not None:
            jobs.append((profiles, tmp / "profiles.parquet"))
        write_parquet_files(jobs)
        # the appended tables in a second round, once the frames above are written
        # and released: they are not all held at once
        del jobs, raw, profiles, ids
        jobs = []
        session = self._session
        for name, added in (
            ("links", session.links),
            ("quarantine", session.quarantine),
            ("id_changes", session.id_changes),
        ):
            earlier = existing(src, f"{name}.parquet")
            tables = list(added)
            if earlier is not None:
                tables.insert(0, read_state(earlier, f"the earlier {name}"))
            if tables:
                merged = pa.concat_tables(tables, promote_options="permissive")
                jobs.append((merged, tmp / f"{name}.parquet"))
        write_parquet_files(jobs)
        for name in ("report.json", "report.html", "report_tables"):
            path = existing(src, name)
            if path is not None:
                copy = shutil.copytree if path.is_dir() else shutil.copy2
                copy(path, tmp / name)

    def _records(self) -> pl.DataFrame | None:
        """The accepted records as loaded, latest version of each (``None`` when unknown)."""
        keys = ["source", "record_id"]
        path = existing(self._dir, RECORDS)
        if path is None:
            return None
        old = read_state_frame(path, "the accepted records")
        if not self._session.records:
            return old
        new = pl.concat(self._session.records, how="diagonal_relaxed").unique(
            keys, keep="last", maintain_order=True
        )
        old = old.join(new.select(keys), on=keys, how="anti")
        return pl.concat([old, new], how="diagonal_relaxed")

    def _profiles(self, raw: pl.DataFrame | None, ids: pl.DataFrame) -> pa.Table | None:
        """Profiles updated for the customers the session changed."""
        import warnings

        import pyarrow.compute as pc

        from c360.golden import build_profiles

        path = existing(self._dir, "profiles.parquet")
        old = read_state(path, "the earlier profiles") if path is not None else None
        if raw is None:
            if self._session.touched:
                warnings.warn(
                    "state/records.parquet is missing (an output of an older c360): "
                    "golden profiles were not updated; run `c360 resolve --previous` to rebuild",
                    stacklevel=3,
                )
            return old
        if old is None:
            return build_profiles(raw, ids, self.config.survivorship)
        touched = {self._resolve_id(c) for c in self._session.touched}
        gone = pa.array(sorted(touched | self._session.merged_away), type=pa.string())
        keep = old.filter(pc.invert(pc.is_in(old.column("customer_id"), value_set=gone)))
        sub_ids = ids.filter(pl.col("customer_id").is_in(sorted(touched)))
        if sub_ids.height == 0:
            return keep
        sub_raw = raw.join(
            sub_ids.select("source", "record_id"), on=["source", "record_id"], how="semi"
        )
        fresh = build_profiles(sub_raw, sub_ids, self.config.survivorship)
        both = pa.concat_tables([keep, fresh], promote_options="permissive")
        return both.sort_by("customer_id")
