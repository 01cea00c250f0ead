"""One-time numeric codes (e-mail confirmation) in Redis: a TTL, a few wrong tries, then gone.

Redis rather than process memory so a code survives restarts and every worker sees it.
"""
import secrets
from enum import StrEnum

from flask import current_app

from oxnack_admin.extensions import redis_client

REGISTRATION = "registration"
CODE_DIGITS = 6

# Check and count in one step, so concurrent guesses cannot exceed the allowed tries.
_CHECK = """
local code = redis.call('HGET', KEYS[1], 'code')
if not code then return 0 end
if code == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 2
"""


class CodeCheck(StrEnum):
    MATCHED = "matched"  # right code; it is now used up
    WRONG = "wrong"  # a try was counted (the last allowed one also invalidates the code)
    MISSING = "missing"  # never issued, expired, used, or invalidated


def code_key(purpose: str, subject: str) -> str:
    return f"oxnack:code:{purpose}:{subject.strip().lower()}"


def issue(purpose: str, subject: str) -> str:
    """A fresh code for `subject` (e.g. an e-mail address); replaces any earlier one."""
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    key = code_key(purpose, subject)
    with redis_client.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        pipe.hset(key, mapping={"code": code, "tries": 0})
        pipe.expire(key, int(current_app.config["CODE_TTL_SECONDS"]))
        pipe.execute()
    return code


def check(purpose: str, subject: str, given: str) -> CodeCheck:
    """Compare a submitted code; a match or the last allowed wrong try removes the code."""
    result = redis_client.eval(_CHECK, 1, code_key(purpose, subject), given,
                               int(current_app.config["CODE_MAX_TRIES"]))
    return {0: CodeCheck.MISSING, 1: CodeCheck.MATCHED}.get(int(result), CodeCheck.WRONG)


def discard(purpose: str, subject: str) -> None:
    redis_client.delete(code_key(purpose, subject))


def seconds_left(purpose: str, subject: str) -> int | None:
    """Remaining lifetime of a pending code, None when there is none (for the console)."""
    ttl = redis_client.ttl(code_key(purpose, subject))
    return ttl if ttl >= 0 else None
