"""Whole numbers from exact shares: the one rounding rule of every split of places or packs (a session's
walk-in, quota and open places; a session's reservation over its slots; a shipment's packs over places).

Pure Python, no Django: the domain modules use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def largest_remainder(total: int, weights: Sequence[int | Fraction]) -> list[int]:
    """Divide ``total`` whole units in proportion to ``weights`` by the LARGEST REMAINDER (Hamilton) method.

    Each part's exact quota is ``total × weight ÷ sum(weights)``, computed exactly (fractions, never
    floats). Every part gets its quota rounded down; the units left over go one each to the largest
    fractional remainders, and between equal remainders to the EARLIER part — callers list the parts in
    their tie-break order. So every part is its quota rounded down or up, and the parts add up to ``total``.

    Returns one count per weight, in the order given (``[]`` for no weights and a total of 0). All-zero
    weights give all zeros when ``total`` is 0. Raises ``ValueError`` for a negative ``total``, a negative
    weight, or a positive ``total`` with no positive weight to give it to.
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ValueError(f"total must be a non-negative integer, got {total!r}")
    exact_weights = [Fraction(w) for w in weights]
    if any(w < 0 for w in exact_weights):
        raise ValueError("weights must not be negative")
    pool = sum(exact_weights, Fraction(0))
    if pool == 0:
        if total:
            raise ValueError(f"nothing to divide {total} among: every weight is 0")
        return [0] * len(exact_weights)
    quotas = [total * w / pool for w in exact_weights]
    counts = [math.floor(q) for q in quotas]
    spare = total - sum(counts)
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in order[:spare]:
        counts[i] += 1
    return counts
