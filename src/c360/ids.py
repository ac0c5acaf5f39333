"""Customer IDs: opaque, deterministic strings.

A customer's ID is derived from its *anchor*, the smallest ``(source,
record_id)`` among its records, hashed with BLAKE2b. The same records give the
same ID on any machine and in any row order.

Example:
    >>> customer_id_for("crm", "42")
    'C-ae663e7ab7cf5279'
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["assign_customer_ids", "customer_id_for"]

PREFIX = "C-"


def customer_id_for(source: str, record_id: str) -> str:
    """The ID a new customer anchored on ``(source, record_id)`` gets."""
    digest = hashlib.blake2b(f"{source}\x1f{record_id}".encode(), digest_size=8).hexdigest()
    return PREFIX + digest


def assign_customer_ids(records: pl.DataFrame, labels: npt.NDArray[np.int64]) -> pl.Series:
    """One customer ID per record from cluster labels.

    Args:
        records: frame with ``source`` and ``record_id``; row ``i`` has label ``labels[i]``.
        labels: cluster label per record.

    Returns:
        A String series ``customer_id`` aligned with ``records``.
    """
    frame = records.select("source", "record_id").with_columns(_c=pl.Series(labels))
    anchors = frame.group_by("_c").agg(pl.struct("source", "record_id").min().alias("a"))
    anchors = anchors.with_columns(
        customer_id=pl.col("a").map_batches(
            lambda s: pl.Series(
                [customer_id_for(x["source"], x["record_id"]) for x in s.to_list()],
                dtype=pl.String,
            ),
            return_dtype=pl.String,
        )
    )
    return frame.join(anchors.select("_c", "customer_id"), on="_c", how="left",
                      maintain_order="left")["customer_id"]
