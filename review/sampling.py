"""双随机、一公开: a reproducible random draw of licenses for on-site checks. Pure: the population and the seed come
as arguments, so anyone holding the recorded draw can recompute it and get the same selection."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence


def population_digest(population: Mapping[str, Sequence[str]]) -> str:
    """sha256 of the population as drawn from (per department, its members sorted)."""
    canonical = "\n".join(f"{dept}:{','.join(sorted(members))}" for dept, members in sorted(population.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()


def draw(population: Mapping[str, Sequence[str]], quotas: Mapping[str, int], seed: str) -> dict[str, list[str]]:
    """Per department, `quotas[dept]` members chosen at random from its population (all of them when it has fewer),
    by a generator seeded with the seed and the department: the same inputs always give the same selection, and
    one department's quota does not change another's draw."""
    chosen: dict[str, list[str]] = {}
    for department, quota in sorted(quotas.items()):
        members = sorted(set(population.get(department, ())))
        rng = random.Random(f"{seed}:{department}")
        chosen[department] = sorted(rng.sample(members, min(max(quota, 0), len(members))))
    return chosen
