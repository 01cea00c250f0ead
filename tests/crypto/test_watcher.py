"""The watcher against the loopback node over HTTP: confirmations, exactly-once, re-orgs, -32005, a bad node."""
import threading
from decimal import Decimal

from jobs.worker import build_scheduler
from oxnack_admin.extensions import db
from oxnack_admin.models import CryptoInvoice, CryptoTransfer
from oxnack_admin.services.crypto import node as crypto_node
from oxnack_admin.services.ops import advisory_locks
from tests.crypto.conftest import credits_of, watch


def test_a_transfer_counts_only_with_enough_confirmations(chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")  # 10 USDT at 92.5
    assert invoice.amount_asset == Decimal(10)
    chain.pay_usdt(invoice.address, "10")  # 1 confirmation
    assert watch().credited == [] and credits_of(customer.id) == []
    chain.mine()  # 2
    assert watch().credited == [] and credits_of(customer.id) == []
    chain.mine()  # 3: head - number + 1 >= 3
    assert watch().credited == [Decimal("925.00")]
    assert credits_of(customer.id) == [Decimal("925.00")]
    assert db.session.get(CryptoInvoice, invoice.id).state == "paid"


def test_the_same_log_on_many_polls_and_after_a_restart_is_credited_once(chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")
    chain.pay_usdt(invoice.address, "10")
    chain.mine(3)
    for _ in range(3):
        watch()
    state = crypto_node.watcher_state(lock=True)
    state.last_scanned_block = invoice.start_block - 1  # a restart from an old backup: the log is read again
    db.session.commit()
    watch()
    assert credits_of(customer.id) == [Decimal("925.00")]
    assert db.session.query(CryptoTransfer).count() == 1


def test_two_watchers_at_once_credit_once(app, chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")
    chain.pay_usdt(invoice.address, "10")
    chain.mine(3)
    with advisory_locks.try_exclusive(advisory_locks.CRYPTO_WATCHER, 0) as ours:
        assert ours
        assert watch().outcome == "busy"  # a second pass while one runs does nothing
    outcomes = []

    def one_pass():
        with app.app_context():
            outcomes.append(watch().outcome)
            db.session.remove()

    threads = [threading.Thread(target=one_pass) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "done" in outcomes and set(outcomes) <= {"done", "busy"}
    assert credits_of(customer.id) == [Decimal("925.00")]


def test_a_reorg_that_removes_a_log_before_it_is_confirmed_credits_nothing(chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")
    chain.pay_usdt(invoice.address, "10")
    chain.mine()
    watch()  # seen with 2 confirmations: not read yet
    chain.reorg(2)  # the block carrying it is replaced; the node still reports the log, as removed
    chain.mine(5)
    assert watch().outcome == "done"
    assert credits_of(customer.id) == [] and db.session.query(CryptoTransfer).count() == 0


def test_limit_exceeded_halves_the_range_and_misses_nothing(chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")
    chain.limit_log_range(3)
    chain.mine(10)
    chain.pay_usdt(invoice.address, "4")
    chain.mine(10)
    chain.pay_usdt(invoice.address, "6")
    chain.mine(3)
    assert watch().outcome == "done"
    assert credits_of(customer.id) == [Decimal("370.00"), Decimal("555.00")]


def test_a_node_that_is_down_credits_nothing_and_loses_nothing(chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")
    chain.pay_usdt(invoice.address, "10")
    chain.mine(3)
    chain.go_down()
    assert watch().outcome == "failed"
    assert credits_of(customer.id) == []
    chain.come_up()
    assert watch().credited == [Decimal("925.00")]


def test_a_node_that_goes_back_in_height_credits_nothing_until_it_catches_up(chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")
    chain.mine(2)
    watch()  # the node has answered this head
    chain.pay_usdt(invoice.address, "10")
    chain.mine(5)
    chain.lag = 20  # a node behind the one that answered before (a load balancer switching nodes)
    result = watch()
    assert result.outcome == "failed" and "below" in result.detail
    assert credits_of(customer.id) == []
    chain.lag = 0
    assert watch().credited == [Decimal("925.00")]


def test_a_node_that_lags_credits_only_what_it_has_confirmed(chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")
    chain.pay_usdt(invoice.address, "10")
    chain.lag = 1  # its head is one behind from the start: 2 confirmations as it sees them
    chain.mine(2)
    assert watch().credited == []
    chain.mine()
    assert watch().credited == [Decimal("925.00")]


def test_a_node_on_another_chain_stops_crediting_and_flags_staff(chain, open_crypto, customer):
    invoice = open_crypto(925, "USDT")
    chain.pay_usdt(invoice.address, "10")
    chain.mine(3)
    chain.chain_id = 97
    assert watch().outcome == "failed"
    assert credits_of(customer.id) == [] and "not CRYPTO_CHAIN_ID 56" in crypto_node.watcher_state().chain_mismatch
    chain.chain_id = 56
    assert watch().credited == [Decimal("925.00")]
    assert crypto_node.watcher_state().chain_mismatch is None


def test_bnb_balance_increases_are_credited_once_each(chain, open_crypto, customer):
    invoice = open_crypto(610, "BNB")  # 0.01 BNB at 61000
    assert invoice.amount_asset == Decimal("0.01")
    chain.send_bnb(invoice.address, "0.004")
    chain.mine(2)
    watch()
    watch()
    assert credits_of(customer.id) == [Decimal("244.00")]
    assert db.session.get(CryptoInvoice, invoice.id).state == "partially_paid"
    chain.send_bnb(invoice.address, "0.006")
    chain.mine(2)
    watch()
    watch()
    assert credits_of(customer.id) == [Decimal("244.00"), Decimal("366.00")]
    assert db.session.get(CryptoInvoice, invoice.id).state == "paid"


def test_the_scheduler_runs_the_watcher_every_poll_interval_only_when_a_node_is_configured(app, chain):
    chain.set_config(CRYPTO_POLL_SECONDS=7)
    assert {job.func_name: job for job in build_scheduler(app).get_jobs()}["jobs.crypto.watch_chain"].interval == 7
    chain.set_config(CRYPTO_RPC_URL="")
    assert "jobs.crypto.watch_chain" not in {job.func_name for job in build_scheduler(app).get_jobs()}


def test_the_first_pass_on_a_fresh_node_reads_its_first_confirmed_block(chain, open_crypto):
    """make run's node starts with only a short history: the first pass must not fail on a missing block."""
    open_crypto(925, "BNB")  # the BNB step reads the time of the last confirmed block
    assert watch().outcome == "done"
