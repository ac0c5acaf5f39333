"""Cluster coherence: weigh every pair inside a cluster and split what does not hold together.

Connected components only see candidate pairs. A family chains together
through sparse records: a record with only name and address links to the
mother, another with name and phone to the son, and the mother and son, never
a candidate pair, land in one customer although they disagree on first name,
birth date and national ID.

For every cluster of three or more records (up to
``ClusterConfig.coherence_max_size``), [`cohere`][cohere] weighs *all* its
member pairs with the trained model, and re-clusters its members by greedy
additive edge contraction (GAEC, a standard heuristic for correlation
clustering): start from single records, repeatedly join the two groups whose
pairs between them weigh most in favour of being one person (the *sum* of
their pair weights), and stop when every remaining join is weighed against.
A cluster whose pairs all weigh in favour stays whole without this search.

Pair weights are the model's match weights with the prior of a *candidate*
pair (``log2 λ/(1-λ)``) replaced by a within-cluster prior: two records
already joined through others are much more likely to be one person than two
records that merely share a blocking key, but a pair with no evidence either
way should not hold a cluster together either. The default within-cluster
prior is half the candidate prior (the geometric mean of the candidate odds
and even odds); ``ClusterConfig.coherence_prior`` sets it in bits.

Cost: ``k (k-1) / 2`` pairs per cluster of ``k`` records, so linear in the
number of records for bounded cluster sizes; clusters larger than
``coherence_max_size`` keep only the guard of [`c360.cluster`][c360.cluster].

Examples:
    >>> import numpy as np
    >>> w = np.array([[0.0, 9.0, -20.0], [9.0, 0.0, 8.0], [-20.0, 8.0, 0.0]])
    >>> gaec(w).tolist()
    [0, 0, 2]
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from c360.cluster import _refused_frame

__all__ = ["CoherenceResult", "cluster_estimates", "cohere", "gaec", "gaec_sparse", "within_pairs"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: Least weight (bits) of a pair a deterministic rule linked: it never weighs
#: against its cluster, but a household sharing one phone line is still split
#: when its other pairs weigh against.
RULE_FLOOR_BITS = 1.0


def within_pairs(
    labels: IntArray, *, min_size: int = 3, max_size: int = 200
) -> tuple[IntArray, IntArray]:
    """Every pair of records inside each cluster of ``min_size..max_size`` records.

    Pairs come ``left < right``, grouped by cluster (clusters by label), so the
    result does not depend on traversal order.

    Examples:
        >>> l, r = within_pairs(np.array([0, 0, 0, 3, 4, 4]), min_size=2)
        >>> list(zip(l.tolist(), r.tolist()))
        [(0, 1), (0, 2), (1, 2), (4, 5)]
    """
    n = labels.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    sizes = np.bincount(labels, minlength=n)
    order = np.lexsort((np.arange(n), labels))
    lab = labels[order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    ks = sizes[lab[starts]]
    keep = (ks >= min_size) & (ks <= max_size)
    left: list[IntArray] = []
    right: list[IntArray] = []
    block_label: list[IntArray] = []  # per cluster, in the order its pairs are made
    # all clusters of one size at once: their member blocks are equally long.
    # A cluster's members come in ascending key order (``order`` sorts by label,
    # then key), so its pairs, in np.triu_indices' order, are left < right and
    # sorted by left, then right
    for k in np.unique(ks[keep]).tolist():
        s = starts[keep & (ks == k)]
        members = order[s[:, None] + np.arange(k)[None, :]]  # clusters x k
        i, j = np.triu_indices(k, 1)
        left.append(members[:, i].ravel())
        right.append(members[:, j].ravel())
        block_label.append(lab[s])
    if not left:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # cluster by cluster: the blocks of pairs reordered by label, a gather
    # (1.13M pairs at 1M records: 0.2 s, against 0.69 s for a lexsort of them)
    size = np.concatenate([np.full(b.shape[0], x.shape[0] // max(b.shape[0], 1))
                           for b, x in zip(block_label, left, strict=True)])  # fmt: skip
    begin = np.cumsum(size) - size
    by_label = np.argsort(np.concatenate(block_label), kind="stable")
    size, begin = size[by_label], begin[by_label]
    pick = np.arange(int(size.sum()), dtype=np.int64) + np.repeat(
        begin - (np.cumsum(size) - size), size
    )
    return np.concatenate(left)[pick].astype(np.int64), np.concatenate(right)[pick].astype(np.int64)


def gaec(weights: FloatArray) -> IntArray:
    """Greedy additive edge contraction of one cluster's symmetric pair-weight matrix.

    Joins the two groups with the largest total weight between them while it
    is positive. Returns, per member, the index of the smallest member of its
    group. Ties go to the first pair in row-major order, so the result is
    deterministic for a given member order.

    Examples:
        >>> gaec(np.array([[0.0, 5.0], [5.0, 0.0]])).tolist()
        [0, 0]
        >>> gaec(np.array([[0.0, -1.0], [-1.0, 0.0]])).tolist()
        [0, 1]
    """
    k = weights.shape[0]
    w = np.array(weights, dtype=np.float64)
    np.fill_diagonal(w, -np.inf)
    group = np.arange(k)
    while True:
        flat = int(np.argmax(w))
        i, j = divmod(flat, k)
        if not w[i, j] > 0:
            break
        a, b = min(i, j), max(i, j)
        # b's group joins a's: a's weights to every other group add b's
        w[a] += w[b]
        w[:, a] = w[a]
        w[a, a] = -np.inf
        w[b, :] = -np.inf
        w[:, b] = -np.inf
        group[group == b] = a
    return group


@dataclass(frozen=True, slots=True)
class CoherenceResult:
    """New labels, the accepted links the split undid, and what was weighed.

    Attributes:
        labels: cluster label per record (smallest record key of its cluster).
        refused: accepted links now between two clusters, with the reason
            (``_rid_l, _rid_r, match_probability, reason``).
        pairs: number of within-cluster pairs weighed.
        split: number of clusters split.
        skipped: clusters larger than the size limit, left as they were.
        left: left key of every pair weighed.
        right: right key of every pair weighed.
        weight: its weight (bits, with the within-cluster prior).
    """

    labels: IntArray
    refused: pl.DataFrame
    pairs: int
    split: int
    skipped: int
    left: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    right: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    weight: FloatArray = field(default_factory=lambda: np.zeros(0), repr=False)


def cohere(
    labels: IntArray,
    link_l: IntArray,
    link_r: IntArray,
    link_probability: FloatArray,
    weigh: Callable[[IntArray, IntArray], FloatArray],
    *,
    prior_shift: float,
    max_size: int = 200,
    certain: npt.NDArray[np.bool_] | None = None,
    candidates: tuple[IntArray, IntArray, FloatArray] | None = None,
) -> CoherenceResult:
    """Split clusters whose members carry evidence of being different people.

    Args:
        labels: cluster label per record (smallest member key).
        link_l: left keys of the accepted links that built the clusters.
        link_r: right keys of the accepted links.
        link_probability: probability of each accepted link.
        weigh: match weight (bits, with the candidate prior) of record pairs.
        prior_shift: bits added to every weight (within-cluster prior minus
            candidate prior).
        max_size: largest cluster whose pairs are all weighed.
        certain: per accepted link, whether a deterministic rule made it (its
            pair weighs at least [`RULE_FLOOR_BITS`][RULE_FLOOR_BITS]).
        candidates: every scored candidate pair (left, right, weight with the
            candidate prior); a cluster larger than ``max_size`` is then
            re-clustered over its candidate pairs only (unscored pairs count
            0). Without them such a cluster is left as it is.

    Returns:
        A [`CoherenceResult`][CoherenceResult].
    """
    n = labels.shape[0]
    sizes = np.bincount(labels, minlength=n) if n else np.zeros(0, dtype=np.int64)
    big = sizes > max_size
    skipped = int(big.sum()) if candidates is None else 0
    left, right = within_pairs(labels, min_size=3, max_size=max_size)
    w = weigh(left, right) if left.shape[0] else np.zeros(0)
    if candidates is not None and big.any():
        cl_, cr_, cw = candidates
        inside = (labels[cl_] == labels[cr_]) & big[labels[cl_]]
        left = np.concatenate([left, np.minimum(cl_[inside], cr_[inside])])
        right = np.concatenate([right, np.maximum(cl_[inside], cr_[inside])])
        w = np.concatenate([w, cw[inside]])
        order = np.lexsort((right, left, labels[left]))
        left, right, w = left[order], right[order], w[order]
    if left.shape[0] == 0:
        return CoherenceResult(labels, _refused_frame([]), 0, 0, skipped)
    w = w + prior_shift
    if certain is not None and certain.any():
        key = left * n + right
        cl = np.minimum(link_l[certain], link_r[certain])
        cr = np.maximum(link_l[certain], link_r[certain])
        hit = _members(key, np.sort(cl * n + cr))
        w[hit] = np.maximum(w[hit], RULE_FLOOR_BITS)
    empty = CoherenceResult(
        labels, _refused_frame([]), int(left.shape[0]), 0, skipped, left, right, w
    )
    pair_label = labels[left]
    # only clusters with a pair weighed against can split (labels are record
    # keys, below n: a flag per label instead of sorting them)
    against = np.zeros(n, dtype=bool)
    against[pair_label[w <= 0]] = True
    if not against.any():
        return empty
    sel = against[pair_label]
    new, split = _split(labels, left[sel], right[sel], w[sel], pair_label[sel], max_size)
    if split == 0:
        return empty
    refused = _crossing_links(labels, new, link_l, link_r, link_probability, left, right, w)
    return CoherenceResult(new, refused, int(left.shape[0]), split, skipped, left, right, w)


#: Clusters of up to this many members are split together, a batch per size
#: (see [`gaec_batch`][gaec_batch]); larger ones one at a time.
BATCH_UP_TO = 16

#: Bytes of weight matrices [`gaec_batch`][gaec_batch] is given at once.
_BATCH_BYTES = 32 << 20


def _split(
    labels: IntArray, a: IntArray, b: IntArray, w: FloatArray, lab: IntArray, max_size: int
) -> tuple[IntArray, int]:
    """New labels after GAEC within each cluster, and how many clusters split.

    ``a, b, w, lab``: the weighed pairs of the clusters that may split (left
    and right key, weight, cluster label). A cluster's members are the keys
    in its pairs, numbered in key order.
    """
    new = labels.copy()
    if not a.shape[0]:
        return new, 0
    n = labels.shape[0]
    # members: distinct (label, key), in label then key order
    members = np.unique(np.concatenate([lab * n + a, lab * n + b]))
    m_lab, m_key = members // n, members % n
    starts = np.flatnonzero(np.r_[True, m_lab[1:] != m_lab[:-1]])
    sizes = np.diff(np.r_[starts, members.shape[0]])
    first = np.repeat(starts, sizes)  # per member, where its cluster starts
    cluster = np.repeat(np.arange(starts.shape[0]), sizes)
    pa, pb = np.searchsorted(members, lab * n + a), np.searchsorted(members, lab * n + b)
    ia, ib, pair_cluster = pa - first[pa], pb - first[pb], cluster[pa]
    # each cluster's pairs together, in their given order
    order = np.argsort(pair_cluster, kind="stable")
    ia, ib, w, pair_cluster = ia[order], ib[order], w[order], pair_cluster[order]
    groups = np.zeros(members.shape[0], dtype=np.int64)  # member index of its group
    pair_starts = np.searchsorted(pair_cluster, np.arange(starts.shape[0] + 1))
    for k in np.unique(sizes).tolist():
        ids = np.flatnonzero(sizes == k)
        if k > min(BATCH_UP_TO, max_size):  # one by one, sparse above max_size as before
            for c in ids.tolist():
                lo, hi = pair_starts[c], pair_starts[c + 1]
                if k > max_size:
                    group = gaec_sparse(k, ia[lo:hi], ib[lo:hi], w[lo:hi])
                else:
                    mat = np.zeros((k, k))
                    mat[ia[lo:hi], ib[lo:hi]] = w[lo:hi]
                    mat[ib[lo:hi], ia[lo:hi]] = w[lo:hi]
                    group = gaec(mat)
                groups[starts[c] : starts[c] + k] = group
            continue
        per_batch = max(1, _BATCH_BYTES // (8 * k * k))
        for lo in range(0, ids.shape[0], per_batch):
            batch = ids[lo : lo + per_batch]
            slot = np.full(starts.shape[0], -1)
            slot[batch] = np.arange(batch.shape[0])
            in_batch = slot[pair_cluster] >= 0
            mats = np.zeros((batch.shape[0], k, k))
            bi = slot[pair_cluster[in_batch]]
            mats[bi, ia[in_batch], ib[in_batch]] = w[in_batch]
            mats[bi, ib[in_batch], ia[in_batch]] = w[in_batch]
            rows = (starts[batch][:, None] + np.arange(k)).ravel()
            groups[rows] = gaec_batch(mats).ravel()
    moved = groups != 0
    split_clusters = np.unique(cluster[moved])
    change = np.isin(cluster, split_clusters)
    keys = m_key[change]
    new[keys] = m_key[(first + groups)[change]]
    return new, int(split_clusters.shape[0])


def gaec_batch(weights: FloatArray) -> IntArray:
    """[`gaec`][gaec] of each of a stack of ``k x k`` weight matrices at once.

    The same contractions, in the same order, with the same sums, as
    [`gaec`][gaec] on each matrix; numpy works on every matrix of the stack
    at each step, so thousands of small clusters cost a few dozen array
    operations instead of a few dozen each.

    Examples:
        >>> w = np.array([[[0.0, 5.0], [5.0, 0.0]], [[0.0, -1.0], [-1.0, 0.0]]])
        >>> gaec_batch(w).tolist()
        [[0, 0], [0, 1]]
    """
    count, k = weights.shape[0], weights.shape[1]
    w = np.array(weights, dtype=np.float64)
    diag = np.arange(k)
    w[:, diag, diag] = -np.inf
    group = np.tile(np.arange(k), (count, 1))
    active = np.arange(count)
    for _ in range(k - 1):
        flat = w[active].reshape(active.shape[0], k * k)
        best = flat.argmax(axis=1)
        go = flat[np.arange(active.shape[0]), best] > 0
        active, best = active[go], best[go]
        if not active.shape[0]:
            break
        i, j = np.divmod(best, k)
        a, b = np.minimum(i, j), np.maximum(i, j)
        # b's group joins a's: a's weights to every other group add b's
        w[active, a, :] += w[active, b, :]
        w[active, :, a] = w[active, a, :]
        w[active, a, a] = -np.inf
        w[active, b, :] = -np.inf
        w[active, :, b] = -np.inf
        g = group[active]
        g[g == b[:, None]] = np.broadcast_to(a[:, None], g.shape)[g == b[:, None]]
        group[active] = g
    return group


def gaec_sparse(k: int, a: IntArray, b: IntArray, weights: FloatArray) -> IntArray:
    """[`gaec`][gaec] over the listed pairs only (others weigh 0), for large clusters.

    Joins, with a heap, the two groups with the largest positive total weight
    between them; ties go to the smallest member indices. Returns, per
    member, the smallest member of its group.

    Examples:
        >>> gaec_sparse(3, np.array([0, 1, 0]), np.array([1, 2, 2]),
        ...             np.array([9.0, 8.0, -20.0])).tolist()
        [0, 0, 2]
    """
    adj: list[dict[int, float]] = [{} for _ in range(k)]
    for x, y, v in zip(a.tolist(), b.tolist(), weights.tolist(), strict=True):
        if x == y:
            continue
        total = adj[x].get(y, 0.0) + v
        adj[x][y] = total
        adj[y][x] = total
    heap = [(-v, x, y) for x in range(k) for y, v in adj[x].items() if x < y and v > 0]
    heapq.heapify(heap)
    parent = list(range(k))
    while heap:
        neg, x, y = heapq.heappop(heap)
        if parent[x] != x or parent[y] != y or adj[x].get(y) != -neg:
            continue  # a group already joined, or a stale total
        # y's group joins x's (x < y): x keeps the smaller index
        for z, v in adj[y].items():
            if z == x:
                continue
            total = adj[x].get(z, 0.0) + v
            adj[x][z] = total
            adj[z][x] = total
            del adj[z][y]
            if total > 0:
                heapq.heappush(heap, (-total, min(x, z), max(x, z)))
        del adj[x][y]
        adj[y] = {}
        parent[y] = x
    root = np.arange(k)
    for i in range(k):
        r = i
        while parent[r] != r:
            r = parent[r]
        root[i] = r
    return root


#: Candidate pairs per slice in [`cluster_estimates`][cluster_estimates].
_ESTIMATE_SLICE = 1 << 21


#: Up to this many keys, membership is a binary search (no polars set-up).
_SEARCH_KEYS_UP_TO = 10_000


def _members(keys: IntArray, sorted_keys: IntArray) -> npt.NDArray[np.bool_]:
    """Whether each of ``keys`` is in ``sorted_keys`` (sorted ascending).

    Examples:
        >>> _members(np.array([5, 1, 7]), np.array([1, 2, 5])).tolist()
        [True, True, False]
    """
    if not sorted_keys.shape[0]:
        return np.zeros(keys.shape[0], dtype=bool)
    if keys.shape[0] <= _SEARCH_KEYS_UP_TO:
        pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.shape[0] - 1)
        found: npt.NDArray[np.bool_] = sorted_keys[pos] == keys
        return found
    # a hash semi-join: binary searches of millions of random keys miss the
    # cache at every step (0.8 s per two million keys against 0.05 s)
    hit = (
        pl.DataFrame({"k": keys})
        .with_row_index("i")
        .join(pl.DataFrame({"k": sorted_keys}), on="k", how="semi")
        .get_column("i")
        .to_numpy()
    )
    found = np.zeros(keys.shape[0], dtype=bool)
    found[hit] = True
    return found


#: Pairs left between two customers below this probability are summed as they
#: are unless a pair of the same two customers reaches it: only then are they
#: read as part of that pair of customers (keeps the grouping small at scale).
_ACROSS_FLOOR = 1e-3


def _pairs(
    labels: IntArray,
    cand_l: IntArray,
    cand_r: IntArray,
    cand_probability: FloatArray,
    weighed: CoherenceResult | None,
    at_least: float = 0.0,
    *,
    once: bool = True,
) -> Iterator[tuple[IntArray, IntArray, FloatArray]]:
    """The pairs with probability ``at_least``: the weighed ones, then the other candidates.

    With ``once``, a candidate pair coherence weighed is left out (it came
    with the weighed ones). Candidate pairs come a slice at a time: at tens
    of millions of pairs, whole-array temporaries would set the run's peak
    memory.
    """
    n = labels.shape[0]
    weighed_keys = np.zeros(0, dtype=np.int64)
    if weighed is not None and weighed.left.shape[0]:
        wp = 1.0 / (1.0 + np.exp2(-np.clip(weighed.weight, -200, 200)))
        keep = wp >= at_least
        yield weighed.left[keep], weighed.right[keep], wp[keep]
        if once:
            weighed_keys = np.sort(weighed.left.astype(np.int64) * n + weighed.right)
    for start in range(0, cand_l.shape[0], _ESTIMATE_SLICE):
        part = slice(start, start + _ESTIMATE_SLICE)
        prob = cand_probability[part]
        rows = np.flatnonzero(prob >= at_least) if at_least > 0 else slice(None)
        lo = np.minimum(cand_l[part][rows], cand_r[part][rows])
        hi = np.maximum(cand_l[part][rows], cand_r[part][rows])
        unseen = ~_members(lo.astype(np.int64) * n + hi, weighed_keys)
        yield lo[unseen], hi[unseen], prob[rows][unseen]


def _customer_pair_keys(labels: IntArray, left: IntArray, right: IntArray) -> IntArray:
    """One integer per unordered pair of customers (cluster labels are record indices)."""
    a, b = labels[left].astype(np.int64), labels[right].astype(np.int64)
    keys: IntArray = np.minimum(a, b) * labels.shape[0] + np.maximum(a, b)
    return keys


def cluster_estimates(
    labels: IntArray,
    cand_l: IntArray,
    cand_r: IntArray,
    cand_probability: FloatArray,
    weighed: CoherenceResult | None = None,
) -> dict[str, float]:
    """Pairwise precision and recall of the *customers*, estimated without labels.

    The expected number of true pairs inside the customers is the sum of the
    match probabilities of all their record pairs: the coherence weights
    (within-cluster prior) where a pair was weighed, else the candidate
    pair's probability; pairs of clusters too large to weigh take the mean
    of the known ones. Recall divides that by itself plus the expected
    number of true pairs among the candidate (and weighed) pairs left
    between customers: like the link-level recall it is relative to the
    candidate pairs, as matches blocking never proposed cannot be seen.
    Compare with the link-level estimates: chains that join different
    people lower only these.

    The pairs left between two customers are read together: they all answer
    one question (are these two customers one person?), so each counts the
    *median* probability of the pairs between the same two customers, not
    its own. Summed one by one they count a household twice over: a mother's
    and a son's records agree on surname, address and phone, fields whose
    agreement the model takes as independent evidence, and their pairs carry
    0.05 to 0.5 each where few are one person; the median also keeps one
    outlying pair (a typo, a shared phone line) from deciding alone.

    Examples:
        >>> lab = np.array([0, 0, 2, 3])
        >>> est = cluster_estimates(lab, np.array([0, 2]), np.array([1, 3]), np.array([0.9, 0.3]))
        >>> round(est["cluster_precision"], 2), round(est["cluster_recall"], 2)
        (0.9, 0.75)
        >>> lab = np.array([0, 0, 2, 2])  # two pairs between two customers: 0.6 and 0.02
        >>> l, r = np.array([0, 2, 0, 1]), np.array([1, 3, 2, 3])
        >>> p = np.array([0.9, 0.9, 0.6, 0.02])
        >>> round(cluster_estimates(lab, l, r, p)["cluster_recall"], 3)  # 1.8 / (1.8 + 2 x 0.31)
        0.744
    """
    n = labels.shape[0]
    sizes = np.bincount(labels, minlength=n) if n else np.zeros(0, dtype=np.int64)
    predicted = float((sizes * (sizes - 1) // 2).sum())
    # the pairs of customers some pair between them gives at least the floor
    between_keys: list[IntArray] = []
    between_p: list[FloatArray] = []
    strong = [
        _customer_pair_keys(labels, lo[out], hi[out])
        for lo, hi, prob in _pairs(
            labels, cand_l, cand_r, cand_probability, weighed, _ACROSS_FLOOR, once=False
        )
        if (out := labels[lo] != labels[hi]).any()
    ]
    grouped = np.unique(np.concatenate(strong)) if strong else np.zeros(0, np.int64)
    in_group = np.zeros(n, dtype=bool)
    in_group[grouped // max(n, 1)] = in_group[grouped % max(n, 1)] = True
    # every pair: inside customers, and the faint pairs between them
    tp_known, n_known, faint = 0.0, 0, 0.0
    for lo, hi, prob in _pairs(labels, cand_l, cand_r, cand_probability, weighed):
        inside = labels[lo] == labels[hi]
        tp_known += float(prob[inside].sum())
        n_known += int(inside.sum())
        strong_out = ~inside & (prob >= _ACROSS_FLOOR)
        between_keys.append(_customer_pair_keys(labels, lo[strong_out], hi[strong_out]))
        between_p.append(prob[strong_out])
        weak = ~inside & (prob < _ACROSS_FLOOR)
        faint += float(prob[weak].sum())
        near = np.flatnonzero(weak & in_group[labels[lo]] & in_group[labels[hi]])
        keys = _customer_pair_keys(labels, lo[near], hi[near])
        joins = _members(keys, grouped)
        between_keys.append(keys[joins])
        between_p.append(prob[near][joins])
        faint -= float(prob[near][joins].sum())
    across = max(faint, 0.0) + _median_per_group(between_keys, between_p)
    unknown = max(predicted - n_known, 0.0)
    tp = tp_known + (unknown * tp_known / n_known if n_known else 0.0)
    return {
        "cluster_precision": tp / predicted if predicted else 1.0,
        "cluster_recall": tp / (tp + across) if tp + across else 1.0,
        "cluster_pairs": predicted,
    }


def _median_per_group(keys: list[IntArray], prob: list[FloatArray]) -> float:
    """Sum over groups of equal key of the group's median times its size.

    A group none of whose pairs reaches ``_ACROSS_FLOOR`` adds its sum: the
    groups are found from candidate probabilities, and a pair coherence
    weighed counts by its weighed probability instead, which can be fainter.

    Examples:
        >>> _median_per_group([np.array([7, 7, 7, 1])], [np.array([0.6, 0.02, 0.1, 0.5])])
        0.8
        >>> round(_median_per_group([np.array([3, 3])], [np.array([1e-4, 9e-4])]), 6)
        0.001
    """
    if not keys:
        return 0.0
    frame = pl.DataFrame({"k": np.concatenate(keys), "p": np.concatenate(prob)})
    if not frame.height:
        return 0.0
    p = pl.col("p")
    each = pl.when(p.max() >= _ACROSS_FLOOR).then(p.median() * pl.len()).otherwise(p.sum())
    total = frame.group_by("k").agg(each.alias("p")).get_column("p").sum()
    return float(total)


def _crossing_links(
    old: IntArray,
    new: IntArray,
    link_l: IntArray,
    link_r: IntArray,
    link_probability: FloatArray,
    left: IntArray,
    right: IntArray,
    w: FloatArray,
) -> pl.DataFrame:
    """Accepted links inside an old cluster that now join two clusters, with the reason."""
    cross = (old[link_l] == old[link_r]) & (new[link_l] != new[link_r])
    if not cross.any():
        return _refused_frame([])
    # total weight and pair count between every two new clusters that were one
    between = (new[left] != new[right]) & (old[left] == old[right])
    ga = np.minimum(new[left][between], new[right][between])
    gb = np.maximum(new[left][between], new[right][between])
    totals = (
        pl.DataFrame({"a": ga, "b": gb, "w": w[between]})
        .group_by("a", "b")
        .agg(pl.col("w").sum().alias("bits"), pl.len().alias("pairs"))
    )
    sizes = np.bincount(new, minlength=new.shape[0])
    ll, lr = link_l[cross], link_r[cross]
    a, b = np.minimum(new[ll], new[lr]), np.maximum(new[ll], new[lr])
    rows = pl.DataFrame(
        {
            "_rid_l": ll.astype(np.int64),
            "_rid_r": lr.astype(np.int64),
            "match_probability": link_probability[cross].astype(np.float64),
            "a": a,
            "b": b,
            "size_a": sizes[a],
            "size_b": sizes[b],
        }
    ).join(totals, on=["a", "b"], how="left", maintain_order="left")
    reason = pl.format(
        "coherence: it joined groups of {} and {} records whose {} pairs weigh {} bits "
        "(against being one person)",
        "size_a",
        "size_b",
        "pairs",
        pl.col("bits").round(1),
    )
    return rows.select("_rid_l", "_rid_r", "match_probability", reason.alias("reason")).sort(
        "_rid_l", "_rid_r"
    )
