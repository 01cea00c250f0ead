"""Money holes around legacy rows and chargebacks: a gateway id is credited once, a charged-back share goes back."""
import logging

from sqlalchemy import func, select, text

from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice, Transaction, User
from oxnack_admin.services.money import ledger
from oxnack_admin.services.payments import crediting, poller
from tests.payments.test_callbacks import legacy_pending_row, reload
from tests.support.factories import make_staff, make_user


def balance(user_id: int):
    db.session.expire_all()
    return db.session.get(User, user_id).balance


def row(row_id: int) -> Transaction:
    db.session.expire_all()
    return db.session.get(Transaction, row_id)


def gateway_payment(platega, amount: int, status: str = "CONFIRMED") -> str:
    """A payment the gateway knows and says `status` for; its callback is not sent."""
    created = platega._create({"paymentMethod": 2, "paymentDetails": {"amount": amount, "currency": "RUB"}}).body
    platega.set_status(created["transactionId"], status)
    return created["transactionId"]


def legacy_credited_row(user: User, gateway_id: str, amount: int) -> Transaction:
    """A top-up the old PaymentAPI already credited: a CONFIRMED add_balance row with the gateway's id."""
    credited = ledger.move_money(user.id, amount, "add_balance", "legacy invoice")
    credited.transaction_id = gateway_id
    db.session.commit()
    return credited


def test_a_legacy_pending_duplicate_of_a_credited_payment_is_closed_not_credited(customer, platega, caplog):
    gateway_id = gateway_payment(platega, 90)
    credited = legacy_credited_row(customer, gateway_id, 90)
    duplicate = legacy_pending_row(customer, gateway_id, 90)
    with caplog.at_level(logging.WARNING, logger="oxnack_admin.services.payments.invoices"):
        poller.poll_pending_invoices()
    platega.send_callback(gateway_id)  # the gateway repeating itself changes nothing either
    poller.poll_pending_invoices()
    assert balance(customer.id) == 90
    assert row(credited.id).status == "CONFIRMED"
    closed = row(duplicate.id)
    assert closed.status == "CANCELED" and f"already credited (transaction #{credited.id})" in closed.discription
    assert db.session.scalar(select(func.count(Invoice.id))) == 0
    assert f"transaction #{duplicate.id}" in caplog.text and gateway_id in caplog.text


def test_legacy_pending_rows_sharing_a_gateway_id_are_adopted_once_and_block_nothing(customer, platega, caplog):
    shared, single = gateway_payment(platega, 70), gateway_payment(platega, 50)
    first, second = legacy_pending_row(customer, shared, 70), legacy_pending_row(customer, shared, 70)
    legacy_pending_row(customer, single, 50)
    with caplog.at_level(logging.WARNING, logger="oxnack_admin.services.payments.invoices"):
        assert poller.poll_pending_invoices() == {"credited": 2}
    assert balance(customer.id) == 120
    assert row(first.id).status == "CONFIRMED"
    closed = row(second.id)
    invoice_id = db.session.scalar(select(Invoice.id).where(Invoice.ledger_row_id == first.id))
    assert closed.status == "CANCELED" and f"a duplicate of invoice #{invoice_id}" in closed.discription
    assert f"transaction #{second.id}" in caplog.text
    assert poller.poll_pending_invoices() == {} and balance(customer.id) == 120


def test_pending_duplicates_of_an_unpaid_invoice_are_closed_and_the_invoice_settles_once(customer, platega):
    shared = gateway_payment(platega, 60, status="PENDING")
    first, second = legacy_pending_row(customer, shared, 60), legacy_pending_row(customer, shared, 60)
    assert poller.poll_pending_invoices() == {"unchanged": 1}
    invoice = db.session.scalar(select(Invoice))
    assert invoice.ledger_row_id == first.id
    closed = row(second.id)
    assert closed.status == "CANCELED" and f"invoice #{invoice.id}" in closed.discription
    platega.confirm(shared)
    assert balance(customer.id) == 60 and reload(invoice).state == "paid"


def test_an_invoice_adopted_before_for_an_already_credited_gateway_id_is_closed_with_attention(customer, platega):
    gateway_id = gateway_payment(platega, 80)
    credited = legacy_credited_row(customer, gateway_id, 80)
    pending = legacy_pending_row(customer, gateway_id, 80)
    # As the adoption of older releases left it: an invoice for the pending duplicate.
    invoice = Invoice(reference="inv_old_adoption", ledger_row_id=pending.id, user_id=customer.id,
                      gateway_id=gateway_id, amount=80, payment_method=2, state="pending")
    db.session.add(invoice)
    db.session.commit()
    outcome = crediting.check_invoice(invoice.id, "poller")
    assert outcome.action == "attention" and balance(customer.id) == 80
    invoice = reload(invoice)
    assert invoice.state == "canceled" and f"transaction #{credited.id}" in invoice.attention
    closed = row(pending.id)
    assert closed.status == "CANCELED" and "not credited again" in closed.discription
    assert crediting.mark_paid(invoice.id, make_staff("admin"), "try").action == "attention"
    assert balance(customer.id) == 80


def test_a_chargeback_reverses_the_referrers_share_once(customer, open_invoice, platega, pay_config):
    pay_config(REF_SHARE=0.1)
    referrer = make_user("friend@example.com", tg_id=777003)
    db.session.execute(text("UPDATE users SET ref_id = 777003 WHERE id = :id"), {"id": customer.id})
    db.session.commit()
    invoice, kept = open_invoice(500), open_invoice(200)
    platega.confirm(invoice.gateway_id)
    platega.confirm(kept.gateway_id)
    assert balance(referrer.id) == 70
    ledger.move_money(referrer.id, -65, "buy_server", "spent the share meanwhile")
    db.session.commit()
    for _ in range(3):
        platega.chargeback(invoice.gateway_id)
    crediting.check_invoice(invoice.id, "poller")
    poller.poll_pending_invoices()
    assert balance(referrer.id) == -45  # may go negative, like the payer's
    reversals = list(db.session.scalars(select(Transaction).where(Transaction.type == "referral_reversal")))
    assert [(r.user_id, r.amount, r.status) for r in reversals] == [(referrer.id, -50, "CONFIRMED")]
    assert invoice.gateway_id in reversals[0].discription
    assert balance(customer.id) == 200 and reload(invoice).state == "charged_back"
