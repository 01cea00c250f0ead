"""Password hashing: argon2id for new hashes; the legacy unsalted SHA-256 is accepted once."""
import hashlib
import hmac
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_LEGACY_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, replacement hash to store or None). A legacy or outdated hash gets a replacement."""
    if not stored_hash:
        return False, None
    if _LEGACY_SHA256.match(stored_hash):
        candidate = hashlib.sha256(password.encode()).hexdigest()
        if hmac.compare_digest(candidate, stored_hash):
            return True, hash_password(password)
        return False, None
    try:
        _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, hash_password(password) if _hasher.check_needs_rehash(stored_hash) else None
