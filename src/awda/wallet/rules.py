"""Pure rules of store credit: the shopper's code and which credit a spend uses up."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# No 0/O, 1/I/L: the code is read off a screen or an e-mail and typed at a checkout.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 20  # shown as five groups of four: 7K3M-Q9XA-…
PREFIX_LENGTH = 6  # finds the row (31**6 ≈ 887 million per merchant); the rest is secret

# 14 secret characters of 31 are ~69 bits. Like API keys the hash is a plain SHA-256, so a
# check costs nothing per checkout; at that length a stolen hash can't be walked back to
# its code by brute force, and guessing online goes through the store's API key.


def new_code() -> str:
    """A fresh code as shown to the shopper, e.g. ``7K3M-Q9XA-…`` (five groups of four)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(code: str) -> str | None:
    """The code as stored, from what a person or a checkout typed (any case, spaces or
    dashes); None when it can't be a code at all."""
    cleaned = "".join(code.split()).replace("-", "").upper()
    if len(cleaned) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in cleaned):
        return None
    return cleaned


def code_prefix(normalised: str) -> str:
    return normalised[:PREFIX_LENGTH]


def hash_code(normalised: str) -> str:
    return hashlib.sha256(normalised.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OpenCredit:
    """A positive entry with something left to spend."""

    entry_id: int
    remaining_minor: int
    expires_at: datetime | None
    reference: str = ""


def spending_order(
    credits: Sequence[OpenCredit], *, prefer_reference: str = ""
) -> list[OpenCredit]:
    """The order a spend uses credit up: what expires first, then the oldest; credit that
    never expires last. ``prefer_reference`` puts the entries of one reference first (a
    clawback takes back the credit of the return it is about before any other)."""

    def key(c: OpenCredit) -> tuple[bool, bool, datetime | None, int]:
        preferred = bool(prefer_reference) and c.reference == prefer_reference
        return (not preferred, c.expires_at is None, c.expires_at, c.entry_id)

    # expires_at is None only where the second item is True, so None is never compared.
    return sorted(credits, key=key)


def take_from(credits: Sequence[OpenCredit], amount_minor: int) -> list[tuple[int, int]]:
    """(entry id, minor units taken) for spending ``amount_minor`` from ``credits`` in the
    given order; raises ValueError when they hold less than that."""
    if amount_minor < 0:
        raise ValueError("amount must not be negative")
    taken: list[tuple[int, int]] = []
    left = amount_minor
    for credit in credits:
        if left == 0:
            break
        take = min(left, credit.remaining_minor)
        if take > 0:
            taken.append((credit.entry_id, take))
            left -= take
    if left:
        raise ValueError(f"credits hold {amount_minor - left}, {amount_minor} asked")
    return taken
