"""Convex-style document ids and creation times.

Real Convex ids are opaque base32 strings that also encode which table they belong to, so
``v.id("sessions")`` can reject an id of another table. Ours do the same: 31 random
characters plus one character naming the table.
"""

from __future__ import annotations

import secrets
import time

# Crockford-like base32 alphabet (lowercase, no i/l/o/u), as Convex ids use.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
ID_LENGTH = 32

TABLE_TAGS: dict[str, str] = {
    "users": "a",
    "generations": "g",
    "sessions": "s",
    "sessionGenerations": "q",
    "favorites": "f",
    "holds": "h",
}
_TAG_TABLES = {tag: table for table, tag in TABLE_TAGS.items()}
# Byte -> letter, for bytes.translate: 256 is a multiple of the alphabet's 32 letters, so
# every letter stays equally likely.
_LETTER_OF_BYTE = bytes.maketrans(bytes(range(256)), ALPHABET.encode() * 8)
_ALPHABET_SET = frozenset(ALPHABET)


def new_id(table: str) -> str:
    # One draw from the OS for the whole id, mapped to letters in C (secrets.choice per
    # character made 31 reads of urandom, a tenth of a generate call's time).
    body = secrets.token_bytes(ID_LENGTH - 1).translate(_LETTER_OF_BYTE).decode("ascii")
    return body + TABLE_TAGS[table]


def table_of(doc_id: object) -> str | None:
    """The table an id belongs to, or None when the string is not one of our ids."""
    if not isinstance(doc_id, str) or len(doc_id) != ID_LENGTH:
        return None
    if not _ALPHABET_SET.issuperset(doc_id):
        return None
    return _TAG_TABLES.get(doc_id[-1])


def is_id_of(doc_id: object, table: str) -> bool:
    return table_of(doc_id) == table


def now_ms() -> float:
    """Milliseconds since the epoch as a float, the unit of `_creationTime` and `createdAt`."""
    return time.time() * 1000.0
