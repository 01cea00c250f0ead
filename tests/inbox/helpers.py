"""Many customers at once, and reading the simulator's timestamps against the pace."""
import threading

from oxnack_admin.extensions import db
from oxnack_admin.models import User
from oxnack_admin.simulator.telegram import TelegramSimulator


def make_customers(count: int, first_tg: int, *, mail: bool = True, telegram: bool = True) -> list[User]:
    """`count` verified customers (no password to hash), linked to Telegram ids first_tg, first_tg + 1, ..."""
    users = [User(mail=f"reader{first_tg + n}@example.com" if mail else None, passwd_hash="not-a-login",
                  is_verified=True, tg_id=first_tg + n if telegram else None) for n in range(count)]
    db.session.add_all(users)
    db.session.flush()
    for user in users:
        user.username = format(user.id, "x")
    db.session.commit()
    return users


def most_in_one_second(times: list[float]) -> int:
    """The largest number of timestamps inside any window [t, t + 1 s)."""
    times, best, start = sorted(times), 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


class ScriptedTelegram(TelegramSimulator):
    """The Bot API simulator answering chosen sendMessage calls (by their order) with a fault."""

    def __init__(self, faults: dict[int, tuple[int, int | None]]):
        super().__init__()
        self.scripted = dict(faults)  # call number (0-based) -> (status, retry_after)
        self._count = 0
        self._count_lock = threading.Lock()

    def route(self, method, path, params, headers):
        if path.endswith("/sendMessage"):
            with self._count_lock:
                number, self._count = self._count, self._count + 1
            fault = self.scripted.pop(number, None)
            if fault is not None:
                self.fail_next("sendMessage", fault[0], retry_after=fault[1])
        return super().route(method, path, params, headers)
