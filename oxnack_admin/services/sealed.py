"""Secrets we must keep for a while but never in plaintext (a root password until it is mailed).

Sealed with Fernet (AES-128-CBC + HMAC) under a key derived from SECRET_KEY, so a copy of
the database alone does not reveal them. Sealed values carry a prefix; anything else is a
legacy plaintext value, which we leave where it is and never read.
"""
import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

PREFIX = "sealed:v1:"


def _fernet() -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    key = hashlib.sha256(b"oxnack sealed secrets v1\0" + secret.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plaintext: str) -> str:
    return PREFIX + _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def is_sealed(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX)


def unseal(value: str | None) -> str | None:
    """The plaintext of a sealed value; None for a legacy plaintext value or one sealed under another key."""
    if not is_sealed(value):
        return None
    try:
        return _fernet().decrypt(value[len(PREFIX):].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
