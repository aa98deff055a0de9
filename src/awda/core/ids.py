"""Short public identifiers people read aloud or type from a label."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: a return number is read off paper and typed on a phone.
RETURN_NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_return_number() -> str:
    """A return number such as ``R-7K3M-Q9`` (31**6 ≈ 887 million per merchant)."""
    chars = "".join(secrets.choice(RETURN_NUMBER_ALPHABET) for _ in range(6))
    return f"R-{chars[:4]}-{chars[4:]}"


def normalise_return_number(raw: str) -> str:
    """Accept what a person types: any case, spaces, with or without dashes."""
    cleaned = raw.strip().upper().replace("-", "").replace(" ", "")
    if cleaned.startswith("R") and len(cleaned) == 7:
        cleaned = cleaned[1:]
    if len(cleaned) == 6:
        return f"R-{cleaned[:4]}-{cleaned[4:]}"
    return raw.strip().upper()
