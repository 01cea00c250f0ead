"""The server lifecycle proved by interleaving (issue 17): a hypothesis rule-based state machine.

Random sequences of what happens to three pool VMs and three customers, on the real PostgreSQL
and Redis and fresh Proxmox and pfSense simulators (tests/lifecycle/interleaving_world.py):
orders, provisioning one step at a time, power actions, renewals, top-ups, billing passes with
the clock moved on, staff suspend / unsuspend / terminate / release / period-end changes, the
default queue's jobs, and wipes one step at a time. A refusal is a fine outcome; any other
exception fails the example. After every step the invariants hold: balances equal the ledger;
a VM has one owner and runs and wipes in flight match their server; a pool VM is stopped and
has no pfSense objects; nobody is charged without a server or a refund, and a renewal buys
new time once; a root password goes only to the owner; only staff lift a staff suspension;
the app logged no error. A billing pass also leaves no active server past its period end.

Examples: `make test` runs OXNACK_PROPERTY_EXAMPLES (default 30) sequences of up to
OXNACK_PROPERTY_STEPS (default 30) steps, from a fixed seed so every run tries the same ones.
A longer search, from a random seed each time:

    OXNACK_PROPERTY_EXAMPLES=500 OXNACK_PROPERTY_STEPS=50 make test \\
        PYTEST_ARGS="tests/lifecycle/test_interleavings.py -p no:cacheprovider"

Hypothesis prints the shortest failing sequence it found as Python to paste into a regression
test (tests/lifecycle/test_interleaving_bugs.py replays each bug found that way).
"""
import os

from hypothesis import HealthCheck, Phase, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, \
    run_state_machine_as_test

from tests.jobs.conftest import _keep_signal_handlers  # noqa: F401  (the in-process worker sets its own)
from tests.lifecycle.interleaving_world import CUSTOMERS, SHAPES, VMIDS, World

EXAMPLES = int(os.environ.get("OXNACK_PROPERTY_EXAMPLES", "30"))
STEPS = int(os.environ.get("OXNACK_PROPERTY_STEPS", "30"))
LONG_RUN = "OXNACK_PROPERTY_EXAMPLES" in os.environ

customers = st.sampled_from(range(len(CUSTOMERS)))
customers_or_owner = st.sampled_from(["owner", *range(len(CUSTOMERS))])  # "owner": whoever holds the VM now
vms = st.sampled_from(VMIDS)


class ServerLifecycle(RuleBasedStateMachine):
    """Every flow that touches a server's life, interleaved; the World does the work."""

    context: tuple = ()  # (app, set_config), set by the test before hypothesis builds machines

    def __init__(self):
        super().__init__()
        self.world: World | None = None

    @initialize(balances=st.tuples(*[st.sampled_from([0, 170, 300, 600])] * len(CUSTOMERS)))
    def open_the_shop(self, balances):
        self.world = World(*self.context, balances)

    def teardown(self):
        if self.world is not None:
            self.world.close()

    # --- customers ---

    @rule(customer=customers, shape=st.sampled_from(sorted(SHAPES)))
    def order(self, customer, shape):
        self.world.order(customer, shape)

    @rule(customer=customers_or_owner, vmid=vms, action=st.sampled_from(["start", "stop", "restart"]))
    def power(self, customer, vmid, action):
        self.world.power(customer, vmid, action)

    @rule(customer=customers_or_owner, vmid=vms)
    def renew(self, customer, vmid):
        self.world.renew(customer, vmid)

    @rule(customer=customers, amount=st.sampled_from([100, 300]))
    def top_up(self, customer, amount):
        self.world.top_up(customer, amount)

    # --- jobs and the clock ---

    @rule(vmid=vms, last_attempt=st.booleans())
    def provisioning_step(self, vmid, last_attempt):
        self.world.provisioning_step(vmid, last_attempt)

    @rule(vmid=vms, last_attempt=st.booleans())
    def wipe_step(self, vmid, last_attempt):
        self.world.wipe_step(vmid, last_attempt)

    @rule()
    def run_jobs(self):
        self.world.run_jobs()

    @rule(hours=st.sampled_from([0, 1, 24, 24 * 7, 24 * 29, 24 * 31]))
    def billing_pass(self, hours):
        self.world.billing_pass(hours)

    # --- staff ---

    @rule(vmid=vms)
    def staff_suspend(self, vmid):
        self.world.staff_suspend(vmid)

    @rule(vmid=vms)
    def staff_unsuspend(self, vmid):
        self.world.staff_unsuspend(vmid)

    @rule(vmid=vms)
    def staff_terminate(self, vmid):
        self.world.staff_terminate(vmid)

    @rule(vmid=vms)
    def staff_release(self, vmid):
        self.world.staff_release(vmid)

    @rule(vmid=vms, days=st.sampled_from([-30, 1]))
    def staff_move_period_end(self, vmid, days):
        self.world.staff_move_period_end(vmid, days)

    # --- after every step ---

    @precondition(lambda self: self.world is not None)
    @invariant()
    def nothing_is_broken(self):
        broken = self.world.checks.broken()
        assert not broken, "\n".join(broken)


def test_no_interleaving_breaks_the_lifecycle(app, job_config):
    ServerLifecycle.context = (app, job_config)
    # The short run does not shrink: a failure is reported as found (shrinking takes minutes here).
    phases = list(Phase) if LONG_RUN else [Phase.explicit, Phase.generate]
    run_state_machine_as_test(ServerLifecycle, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=not LONG_RUN, phases=phases,
        database=None, suppress_health_check=list(HealthCheck), report_multiple_bugs=False))
