"""A chat's half-finished dialogue (link, order, top-up) in Redis with a TTL, never in a process's memory.

Confirm buttons carry a one-time nonce: the first press consumes it (an atomic delete), so a
double press, or a press on an old message, finds it gone and places nothing twice.
"""
import secrets

from flask import current_app

from oxnack_admin.extensions import redis_client


def _key(chat_id: int) -> str:
    return f"oxnack:tg:dialog:{chat_id}"


def get(chat_id: int) -> dict:
    return {key.decode() if isinstance(key, bytes) else key: value.decode() if isinstance(value, bytes) else value
            for key, value in (redis_client.hgetall(_key(chat_id)) or {}).items()}


def start(chat_id: int, step: str, **values) -> None:
    """Begin a dialogue, forgetting any other one."""
    key = _key(chat_id)
    with redis_client.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        pipe.hset(key, mapping={"step": step, **{k: str(v) for k, v in values.items()}})
        pipe.expire(key, int(current_app.config["TELEGRAM_DIALOG_TTL_SECONDS"]))
        pipe.execute()


def put(chat_id: int, **values) -> None:
    key = _key(chat_id)
    with redis_client.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={k: str(v) for k, v in values.items()})
        pipe.expire(key, int(current_app.config["TELEGRAM_DIALOG_TTL_SECONDS"]))
        pipe.execute()


def end(chat_id: int) -> None:
    redis_client.delete(_key(chat_id))


def issue_nonce(chat_id: int, purpose: str, value: str = "1") -> str:
    """A short one-time token for a confirm button (fits callback_data's 64 bytes)."""
    nonce = secrets.token_urlsafe(6)
    redis_client.set(f"oxnack:tg:nonce:{chat_id}:{purpose}:{nonce}", value,
                     ex=int(current_app.config["TELEGRAM_DIALOG_TTL_SECONDS"]))
    return nonce


def consume_nonce(chat_id: int, purpose: str, nonce: str) -> str | None:
    """The value issued with the nonce, for the first press only; None afterwards (or once expired)."""
    key = f"oxnack:tg:nonce:{chat_id}:{purpose}:{nonce}"
    with redis_client.pipeline(transaction=True) as pipe:
        pipe.get(key)
        pipe.delete(key)
        value, _ = pipe.execute()
    return value.decode() if isinstance(value, bytes) else value
