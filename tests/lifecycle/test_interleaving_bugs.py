"""The bugs tests/lifecycle/test_interleavings.py found, each replayed as its shortest sequence (issue 17).

Each is xfail(strict) until the lifecycle rewrite fixes it: a fix turns it into an XPASS, which
fails the run, so the mark is removed with the fix. The world and the invariants are the
property test's own (interleaving_world.py, interleaving_checks.py).
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


@pytest.mark.xfail(strict=True, reason="issue 17 (2): 'terminate now' during provisioning takes the VM from "
                                        "a run in flight; the customer keeps paying, nothing is refunded")
def test_terminate_during_provisioning_leaves_the_run_on_a_vm_being_wiped(shop):
    world = shop(0, 0, 170)
    world.order(2)
    world.staff_terminate(301)
    assert world.checks.broken() == []


@pytest.mark.xfail(strict=True, reason="issue 17 (2): after 'terminate now' and the wipe, the late provisioning "
                                        "job starts the pool VM, rebuilds its firewall and mails its password")
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


@pytest.mark.xfail(strict=True, reason="issue 17 (3): the customer's renew lifts a staff suspension, "
                                        "charges a full period from now and loses the paid days")
def test_a_renew_does_not_lift_a_staff_suspension(shop):
    world = shop(600, 0, 0)
    world.order(0)
    world.staff_suspend(301)
    assert world.checks.broken() == []
    world.renew(0, 301)
    assert world.checks.broken() == []


@pytest.mark.xfail(strict=True, reason="issue 17 (3): a top-up lifts a staff suspension (resume after credit), "
                                        "charges a full period from now and loses the paid days")
def test_a_top_up_does_not_lift_a_staff_suspension(shop):
    # As the property test shrank it: no provisioning step is needed.
    world = shop(600, 0, 0)
    world.order(0, "large")
    world.staff_suspend(301)
    world.top_up(0, 100)
    assert world.checks.broken() == []


@pytest.mark.xfail(strict=True, reason="issue 17 (1): renewing a server out of suspension twice pays twice")
def test_renewing_twice_out_of_suspension_pays_once(shop):
    world = shop(170, 0, 0)
    world.order(0)
    provision(world)
    world.billing_pass(31 * DAY)  # the balance is empty: suspended
    world.top_up(0, 600)  # ... and resumed by the top-up (one renewal)
    assert world.checks.broken() == []
    world.renew(0, 301)  # the customer clicks "renew" too
    assert world.checks.broken() == []


@pytest.mark.xfail(strict=True, reason="issue 17 (1): an auto-renewal at the period end and the customer's "
                                        "click right after pay two periods")
def test_a_click_after_the_auto_renewal_pays_nothing_more(shop):
    world = shop(600, 0, 0)
    world.order(0)
    provision(world)
    world.billing_pass(31 * DAY)
    assert world.checks.broken() == []
    world.renew(0, 301)
    assert world.checks.broken() == []


@pytest.mark.xfail(strict=True, reason="issue 17 (4): with the period end moved back to one renewed before, "
                                        "every billing pass says 'renewed' and the server runs free")
def test_a_period_end_moved_back_is_renewed_or_suspended(shop):
    world = shop(600, 0, 0)
    world.order(0)
    provision(world)
    world.billing_pass(31 * DAY)  # renewed from the first period end
    world.staff_move_period_end(301, -30)  # staff set the end back to that first period end
    world.billing_pass(1)  # asserts: no active server past its period end after a pass
