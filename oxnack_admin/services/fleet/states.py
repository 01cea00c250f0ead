"""The life of a server on one screen: its states, the events that move it, and who may send them.

                 sell                    provisioned               reinstalled
      pool ─────────────▶ provisioning ──────────────▶ active ◀──────────── reinstalling ◀─┐
       ▲  ▲                │       │ fail               │ │ │ reinstall ─────▶  │ │ fail:   │ retry
       │  └── give_back ───┘       ▼                    │ │ │ (owner, staff)    │ └ flagged ┘ (staff)
       │                         failed ── retry ──▶    │ │ ▼ suspend           │
       │                           │     provisioning   │ │ suspended ──────────┼─┐ renew (unpaid only,
       │                           │                    │ │   │  ▲ unsuspend    │ │ unless staff) /
       │                           │                    │ └───┼──┘  (staff)     │ │ unsuspend (staff)
       │ wiped                     │ release            │     │ terminate /     │ terminate / release
       └──────── wiping ◀──────────┴────────────────────┴─────┴─ release ◀──────┘ (staff, once flagged)

`power`, `renew` and `auto_renew` keep a server where it is (or bring a suspended one back).
Every flow that changes a server (an order, each provisioning step, power, renewal, the billing
cycle, staff actions, the wipe, the reinstall; later the bot's buttons) calls `move` (or
`check` first) on the server's row locked FOR UPDATE, so two flows meeting on one server take
turns and the second finds the state the first left. A move that is not in `TRANSITIONS` is
refused with `TransitionRefused`: a status and a message fit for the customer (`customer_reason`)
and a sentence for staff (`str()`).

While a server is `reinstalling` nothing else may touch it: power, renewal and suspension are
refused ("server busy"), the billing cycle leaves it alone until it is active again (then renews
or suspends it as usual), and staff may terminate, release or retry it only once the reinstall has
failed and flagged it (`attention`): a running reinstall is never raced by a wipe.

Nothing here touches the database, a queue or a remote system: this module only decides.
"""
from dataclasses import dataclass
from enum import StrEnum

from oxnack_admin.models import Server
from oxnack_admin.models.enums import LifecycleState, SuspendReason

POOL = "pool"  # the state of a row with no lifecycle_state and not busy: free in the pool (never stored)

PROVISIONING, FAILED = LifecycleState.PROVISIONING, LifecycleState.FAILED
ACTIVE, SUSPENDED, WIPING = LifecycleState.ACTIVE, LifecycleState.SUSPENDED, LifecycleState.WIPING
REINSTALLING = LifecycleState.REINSTALLING


class Event(StrEnum):
    SELL = "sell"  # an order claims a pool VM (or a staff retry claims it again)
    PROVISIONED = "provisioned"  # the run's last step is done
    GIVE_BACK = "give_back"  # the run failed before it changed the VM: back to the pool
    FAIL = "fail"  # the run failed after it changed the VM: flagged, staff decide
    RETRY = "retry"  # staff retry a failed run
    POWER = "power"  # start, stop, restart
    RENEW = "renew"  # one more rental period, charged or free
    AUTO_RENEW = "auto_renew"  # switch automatic renewal on or off
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"
    TERMINATE = "terminate"  # the owner loses it (grace days over, or staff): wiped back into the pool
    RELEASE = "release"  # staff take it back into the pool: wiped
    WIPED = "wiped"  # the wipe's last step
    REINSTALL = "reinstall"  # the owner (or staff) re-clones the VM from an OS template
    REINSTALLED = "reinstalled"  # the reinstall's last step
    REINSTALL_FAIL = "reinstall_fail"  # the reinstall failed for good: stays reinstalling, flagged for staff


class Actor(StrEnum):
    CUSTOMER = "customer"  # the owner, through the site or the bot
    STAFF = "staff"  # the console
    SYSTEM = "system"  # jobs, the billing cycle, a credit that resumes a server


ANYONE = frozenset(Actor)
STAFF_ONLY = frozenset({Actor.STAFF})
SYSTEM_ONLY = frozenset({Actor.SYSTEM})


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    event: Event
    target: str | None  # None: the server stays in the state it is in
    actors: frozenset[Actor]


TRANSITIONS = (
    Transition((POOL,), Event.SELL, PROVISIONING, frozenset({Actor.CUSTOMER, Actor.STAFF})),
    Transition((PROVISIONING,), Event.PROVISIONED, ACTIVE, SYSTEM_ONLY),
    Transition((PROVISIONING,), Event.GIVE_BACK, POOL, SYSTEM_ONLY),
    Transition((PROVISIONING,), Event.FAIL, FAILED, SYSTEM_ONLY),
    Transition((FAILED, PROVISIONING), Event.RETRY, PROVISIONING, STAFF_ONLY),
    Transition((REINSTALLING,), Event.RETRY, REINSTALLING, STAFF_ONLY),  # a flagged reinstall only (check)
    Transition((ACTIVE,), Event.POWER, None, ANYONE),
    Transition((ACTIVE, SUSPENDED), Event.RENEW, ACTIVE, ANYONE),  # a staff hold: staff only (below)
    Transition((PROVISIONING, FAILED, ACTIVE, SUSPENDED, REINSTALLING), Event.AUTO_RENEW, None,
               frozenset({Actor.CUSTOMER, Actor.STAFF})),
    Transition((ACTIVE,), Event.SUSPEND, SUSPENDED, frozenset({Actor.STAFF, Actor.SYSTEM})),
    Transition((SUSPENDED,), Event.SUSPEND, SUSPENDED, STAFF_ONLY),  # an unpaid suspension becomes a staff hold
    Transition((SUSPENDED,), Event.UNSUSPEND, ACTIVE, STAFF_ONLY),
    Transition((FAILED, ACTIVE, SUSPENDED), Event.TERMINATE, WIPING, frozenset({Actor.STAFF, Actor.SYSTEM})),
    Transition((REINSTALLING,), Event.TERMINATE, WIPING, STAFF_ONLY),  # a flagged reinstall only (check)
    Transition((POOL, FAILED, ACTIVE, SUSPENDED, REINSTALLING), Event.RELEASE, WIPING, STAFF_ONLY),
    Transition((WIPING,), Event.WIPED, POOL, SYSTEM_ONLY),
    Transition((ACTIVE,), Event.REINSTALL, REINSTALLING, frozenset({Actor.CUSTOMER, Actor.STAFF})),
    Transition((REINSTALLING,), Event.REINSTALLED, ACTIVE, SYSTEM_ONLY),
    Transition((REINSTALLING,), Event.REINSTALL_FAIL, None, SYSTEM_ONLY),
)
# From `reinstalling` these wait until the reinstall has failed and flagged the server.
ONLY_WHEN_FLAGGED = {Event.RETRY, Event.TERMINATE, Event.RELEASE}
_BY_KEY = {(source, t.event): t for t in TRANSITIONS for source in t.sources}

# What a customer is told when a server's state refuses what they asked (status, message).
CUSTOMER_REFUSALS = {
    PROVISIONING: (409, "server is still being created"),
    FAILED: (409, "server unavailable"),
    SUSPENDED: (403, "server suspended"),
    WIPING: (404, "not found"),
    POOL: (404, "not found"),
    ACTIVE: (409, "not possible now"),
    REINSTALLING: (409, "server busy"),
}


class TransitionRefused(Exception):
    """The move is not allowed from the server's state (or not to this actor); says why."""

    def __init__(self, server_id: int, state: str, event: Event, actor: Actor, why: str | None = None):
        self.server_id, self.state, self.event, self.actor = server_id, state, event, actor
        self.status, self.message = CUSTOMER_REFUSALS.get(state, (409, "not possible now"))
        super().__init__(why or f"VM {server_id} is {state}: {event} does not apply")

    @property
    def customer_reason(self) -> tuple[int, str]:
        return self.status, self.message


def state_of(server: Server) -> str:
    """The server's state; a sold row the old system left without one counts as active."""
    if server.lifecycle_state:
        return server.lifecycle_state
    return ACTIVE if server.busy else POOL


def check(server: Server, event: Event, actor: Actor) -> str:
    """The state `event` leads to from the server's state, or raise TransitionRefused."""
    state = state_of(server)
    transition = _BY_KEY.get((state, event))
    if transition is None:
        raise TransitionRefused(server.id, state, event, actor)
    if actor not in transition.actors:
        raise TransitionRefused(server.id, state, event, actor, f"VM {server.id} is {state}: only "
                                f"{' or '.join(sorted(transition.actors))} may {event} it")
    if state == REINSTALLING and event in ONLY_WHEN_FLAGGED and not server.attention:
        raise TransitionRefused(server.id, state, event, actor, f"VM {server.id} is being reinstalled: {event} waits "
                                "until the reinstall is done or has failed")
    if state == SUSPENDED and event == Event.RENEW and actor != Actor.STAFF \
            and server.suspend_reason == SuspendReason.STAFF:
        raise TransitionRefused(server.id, state, event, actor, f"VM {server.id} is held by staff: only staff "
                                "lift that suspension")
    return state if transition.target is None else transition.target


def move(server: Server, event: Event, actor: Actor, *, suspend_reason: SuspendReason | None = None) -> str:
    """Check the move and set the server's new state (the caller holds its row lock and commits)."""
    target = check(server, event, actor)
    if event == Event.SUSPEND:
        if suspend_reason is None:
            raise ValueError("a suspension needs its reason")
        server.suspend_reason = suspend_reason
    elif target != SUSPENDED:
        server.suspend_reason = None
    server.lifecycle_state = None if target == POOL else target
    return target


def is_staff_hold(server: Server) -> bool:
    return state_of(server) == SUSPENDED and server.suspend_reason == SuspendReason.STAFF
