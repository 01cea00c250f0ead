"""The bugs tests/lifecycle/test_interleavings.py found, each replayed as its shortest sequence (issue 17).

Each failed on the lifecycle before its state machine (services/fleet/states.py). The world and
the invariants are the property test's own (interleaving_world.py, interleaving_checks.py).
"""
import pytest

from tests.jobs.conftest import _keep_signal_handlers  # noqa: F401  (the in-process worker sets its own)
from tests.lifecycle.interleaving_world import World

DAY = 24


@pytest.fixture
def shop(app, job_config):
    """shop(*balances) → a World whose customers 0, 1, 2 start with these balances."""
    worlds = []

    def open_shop(*balances: int) -> World:
        worlds.append(World(app, job_config, balances))
        return worlds[-1]

    yield open_shop
    for world in worlds:
        world.close()


def provision(world: World, vmid: int = 301) -> None:
    """The provisioning job's five steps, one after another."""
    for _ in range(5):
        world.provisioning_step(vmid)
    assert world.provisioning_step(vmid) == "no run"


# issue 17 (2), fixed by the state machine
def test_terminate_during_provisioning_leaves_the_run_on_a_vm_being_wiped(shop):
    world = shop(0, 0, 170)
    world.order(2)
    world.staff_terminate(301)
    assert world.checks.broken() == []


# issue 17 (2), fixed by the state machine
def test_a_late_provisioning_job_does_not_touch_the_wiped_pool_vm(shop):
    world = shop(0, 0, 170)
    world.order(2)
    world.staff_terminate(301)
    for _ in range(5):
        world.wipe_step(301)
    world.checks.broken()  # the run on a wiped VM is reported by the test above; here, what follows
    problems = []
    for _ in range(5):
        world.provisioning_step(301)
        problems += world.checks.broken()
    assert problems == []


# issue 17 (3), fixed by the state machine
def test_a_renew_does_not_lift_a_staff_suspension(shop):
    world = shop(600, 0, 0)
    world.order(0)
    world.staff_suspend(301)
    assert world.checks.broken() == []
    world.renew(0, 301)
    assert world.checks.broken() == []


# issue 17 (3), fixed by the state machine
def test_a_top_up_does_not_lift_a_staff_suspension(shop):
    # As the property test shrank it: no provisioning step is needed.
    world = shop(600, 0, 0)
    world.order(0, "large")
    world.staff_suspend(301)
    world.top_up(0, 100)
    assert world.checks.broken() == []


# issue 17 (1), fixed by the state machine
def test_renewing_twice_out_of_suspension_pays_once(shop):
    world = shop(170, 0, 0)
    world.order(0)
    provision(world)
    world.billing_pass(31 * DAY)  # the balance is empty: suspended
    world.top_up(0, 600)  # ... and resumed by the top-up (one renewal)
    assert world.checks.broken() == []
    world.renew(0, 301)  # the customer clicks "renew" too
    assert world.checks.broken() == []


# issue 17 (1), fixed by the state machine
def test_a_click_after_the_auto_renewal_pays_nothing_more(shop):
    world = shop(600, 0, 0)
    world.order(0)
    provision(world)
    world.billing_pass(31 * DAY)
    assert world.checks.broken() == []
    world.renew(0, 301)
    assert world.checks.broken() == []


# issue 17 (4), fixed by the state machine
def test_a_period_end_moved_back_is_renewed_or_suspended(shop):
    world = shop(600, 0, 0)
    world.order(0)
    provision(world)
    world.billing_pass(31 * DAY)  # renewed from the first period end
    world.staff_move_period_end(301, -30)  # staff set the end back to that first period end
    world.billing_pass(1)  # asserts: no active server past its period end after a pass
