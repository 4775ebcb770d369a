"""Random streams: one independent, reproducible generator per (seed, salt).

Every random layer of every stage draws from its own stream, named by a salt, so adding a draw to
one layer never shifts another and equal inputs give equal outputs.
"""

from __future__ import annotations

import zlib

import numpy as np


def seeded_rng(seed: int, salt: str) -> np.random.Generator:
    """The stream named ``salt`` of ``seed`` (the seed's low 32 bits, the salt's CRC-32)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(salt.encode())])
