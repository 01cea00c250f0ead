"""The broadcast's pace, shared by every worker through Redis: TELEGRAM_BROADCAST_RATE a second in all, one a second per chat.

A sliding window that cannot be fooled by network delay: a send enters the window when it is
granted and leaves it one second after its answer came back (an unfinished one counts as in
flight). Telegram receives each request between those two moments, so any one-second window at
Telegram holds at most the rate, whatever the latency. The per-chat key works the same way, and
a 429 sets a pause every sender waits out. Times are Redis' own (TIME), one clock for all workers.
"""
import secrets
import time

from flask import current_app

from oxnack_admin.extensions import redis_client

WINDOW_KEY = "oxnack:broadcast:window"
PAUSE_KEY = "oxnack:broadcast:pause"
CHAT_KEY = "oxnack:broadcast:chat:{}"
LONGEST_WAIT = 1.0  # seconds slept at once, so a pause ended early (or a shutdown) is noticed soon

# KEYS: window, chat, pause. ARGV: rate, member, in-flight allowance (µs). Returns 0 (granted) or ms to wait.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = redis.call('PTTL', KEYS[3])
if wait > 0 then return wait end
wait = redis.call('PTTL', KEYS[2])
if wait > 0 then return wait end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 1000000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, math.ceil((tonumber(first[2]) + 1000000 - now) / 1000))
end
local allowance = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + allowance, ARGV[2])
redis.call('PEXPIRE', KEYS[1], math.ceil(allowance / 1000) + 2000)
redis.call('SET', KEYS[2], ARGV[2], 'PX', math.ceil(allowance / 1000) + 1000)
return 0
"""

# KEYS: window, chat. ARGV: member. The send is over: it stays in the window (and holds its chat) one more second.
_FINISH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
redis.call('SET', KEYS[2], ARGV[1], 'PX', 1000)
return 0
"""


def acquire(chat_id: int | str) -> str:
    """Wait until one more message may go to this chat; the token to hand to `finish` after the call."""
    rate = max(1, int(current_app.config["TELEGRAM_BROADCAST_RATE"]))
    allowance_us = int((float(current_app.config["TELEGRAM_TIMEOUT"]) + 5) * 1_000_000)  # a call's longest life
    member = secrets.token_hex(8)
    while True:
        wait_ms = int(redis_client.eval(_ACQUIRE, 3, WINDOW_KEY, CHAT_KEY.format(chat_id), PAUSE_KEY,
                                        rate, member, allowance_us))
        if wait_ms <= 0:
            return member
        time.sleep(min(wait_ms / 1000, LONGEST_WAIT))


def finish(chat_id: int | str, member: str) -> None:
    redis_client.eval(_FINISH, 2, WINDOW_KEY, CHAT_KEY.format(chat_id), member)


def pause(seconds: float) -> None:
    """A 429's retry_after: no sender is granted anything until it has passed."""
    redis_client.set(PAUSE_KEY, "429", px=max(1, int(seconds * 1000)))
