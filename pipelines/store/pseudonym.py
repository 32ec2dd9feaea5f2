"""Participant codes replaced by a keyed hash, with the project's participant key.

The key is a secret of the project, kept outside the repository and the database:
- MVH_PARTICIPANT_KEY holds the key itself, or
- MVH_PARTICIPANT_KEY_FILE names a file holding it, or else
- ~/.config/mvh/participant.key, created on first use (32 random bytes, hex, mode 0600) with a
  notice to back it up: without the same key, a person can no longer be matched with their
  earlier participations, and unique counts start again.
A person is HMAC-SHA256(key, scope + US + normalised code), its first 8 bytes as a signed
64-bit integer. The scope is the country (with the organisation, US-separated, where the country
reports per partner organisation), so two partners who happen to choose the same code never count
as one person; a code is normalised (surrounding and repeated spaces,
letter case) so "ab-12 " and "AB-12" are one person. With 64 bits, a million people collide
with a probability of about 3 in 100 million. The raw code is never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
from pathlib import Path

import pandas as pd

DEFAULT_KEY_FILE = Path("~/.config/mvh/participant.key")
SEPARATOR = "\x1f"


class ParticipantKeyError(Exception):
    """The participant key cannot be read; the message says where it was looked for."""


def key() -> bytes:
    """The participant key: MVH_PARTICIPANT_KEY, else MVH_PARTICIPANT_KEY_FILE, else the default
    file, created on first use."""
    given = os.environ.get("MVH_PARTICIPANT_KEY")
    if given:
        return given.strip().encode()
    path = Path(os.environ.get("MVH_PARTICIPANT_KEY_FILE") or DEFAULT_KEY_FILE).expanduser()
    if not path.exists():
        if os.environ.get("MVH_PARTICIPANT_KEY_FILE"):
            raise ParticipantKeyError(f"MVH_PARTICIPANT_KEY_FILE names {path}, which does not exist; "
                            "restore the project's participant key there")
        _create(path)
    text = path.read_text(encoding="utf-8").strip()
    if len(text) < 16:
        raise ParticipantKeyError(f"{path} holds no usable participant key (at least 16 characters)")
    return text.encode()


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_hex(32) + "\n")
    print(f"Created the participant key {path} (mode 0600). Back it up with the project's "
          "secrets: without it, people can no longer be matched across quarters.", file=sys.stderr)


def normalise(code: str) -> str:
    return " ".join(str(code).split()).casefold()


def persons(codes: pd.Series, scope: str, secret: bytes | None = None) -> pd.Series:
    """Each code's person number (int64) within a scope (a country, or a country and
    organisation), hashing each distinct code once; a blank code is <NA>."""
    base = hmac.new(secret or key(), digestmod=hashlib.sha256)
    prefix = (scope + SEPARATOR).encode()
    mapping = {}
    for code in pd.unique(codes):
        text = normalise(code) if isinstance(code, str) else ""
        if not text:
            continue
        h = base.copy()
        h.update(prefix + text.encode())
        mapping[code] = int.from_bytes(h.digest()[:8], "big", signed=True)
    return codes.map(mapping).astype("Int64")
