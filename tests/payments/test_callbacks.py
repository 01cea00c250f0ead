"""Platega's callback and the poller: credentials, a body never trusted, exactly one credit whatever repeats."""
import threading

import pytest
from sqlalchemy import func, select, text

from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice, MailMessage, Transaction, User
from oxnack_admin.services.money import ledger
from oxnack_admin.services.payments import crediting, poller
from tests.payments.conftest import MERCHANT_ID, SECRET, callback_headers
from tests.support.factories import make_user


def balance(user_id: int):
    db.session.expire_all()
    return db.session.get(User, user_id).balance


def rows_of(user_id: int, kind: str | None = None) -> list[Transaction]:
    db.session.expire_all()
    statement = select(Transaction).where(Transaction.user_id == user_id).order_by(Transaction.id)
    if kind:
        statement = statement.where(Transaction.type == kind)
    return list(db.session.scalars(statement))


def reload(invoice: Invoice) -> Invoice:
    db.session.expire_all()
    return db.session.get(Invoice, invoice.id)


def test_a_confirmed_payment_is_credited_once_through_the_callback(client, customer, open_invoice, platega):
    invoice = open_invoice(500)
    (sent,) = platega.confirm(invoice.gateway_id)
    assert sent.status_code == 200
    assert sent.body == {"id": invoice.gateway_id, "amount": 500, "currency": "RUB", "status": "CONFIRMED",
                         "paymentMethod": 2, "payload": invoice.reference}
    assert balance(customer.id) == 500
    (row,) = rows_of(customer.id)
    assert row.id == invoice.ledger_row_id and row.status == "CONFIRMED" and row.amount == 500  # the same row
    invoice = reload(invoice)
    assert invoice.state == "paid" and invoice.credited_by == "callback" and invoice.gateway_status == "CONFIRMED"
    assert invoice.last_answer["status"] == "CONFIRMED"
    mail = db.session.scalar(select(MailMessage))
    assert mail.to_email == "payer@example.com" and mail.kind == "top_up_received"
    assert "500 ₽" in mail.subject and "Текущий баланс: 500 ₽" in mail.body
    # Platega repeats itself: still 200, still one credit, no second mail.
    for _ in range(3):
        assert platega.send_callback(invoice.gateway_id).status_code == 200
    assert balance(customer.id) == 500 and len(rows_of(customer.id)) == 1
    assert db.session.scalar(select(func.count(MailMessage.id))) == 1


@pytest.mark.parametrize("headers", [
    {}, {"X-MerchantId": MERCHANT_ID}, {"X-Secret": SECRET}, callback_headers(secret="wrong"),
    callback_headers(merchant_id="other-merchant"), callback_headers(secret=SECRET + "x"),
    callback_headers(merchant_id="", secret=""),
], ids=["none", "no-secret", "no-merchant", "wrong-secret", "wrong-merchant", "longer-secret", "empty"])
def test_wrong_or_missing_credentials_are_401_and_change_nothing(client, customer, open_invoice, platega, headers):
    invoice = open_invoice(300)
    platega.set_status(invoice.gateway_id, "CONFIRMED")
    response = client.post("/platega/callback", json=platega.callback_body(invoice.gateway_id), headers=headers)
    assert response.status_code == 401 and response.json["status"] == "error"
    assert balance(customer.id) == 0 and reload(invoice).state == "pending"
    assert platega.calls_to("GET", "^/transaction/") == []  # not even a re-read


def test_empty_configured_credentials_never_authenticate(client, customer, open_invoice, platega, pay_config):
    invoice = open_invoice(300)
    pay_config(PLATEGA_SECRET="")
    response = client.post("/platega/callback", json={"id": invoice.gateway_id},
                           headers=callback_headers(secret=""))
    assert response.status_code == 401


def test_a_body_that_lies_about_the_status_credits_nothing(client, customer, open_invoice, platega):
    invoice = open_invoice(300)  # still PENDING at the gateway
    lie = {**platega.callback_body(invoice.gateway_id), "status": "CONFIRMED"}
    assert platega.send_callback(invoice.gateway_id, body=lie).status_code == 200
    assert balance(customer.id) == 0 and reload(invoice).state == "pending"
    assert len(platega.calls_to("GET", f"^/transaction/{invoice.gateway_id}$")) == 1  # it re-read the truth


def test_a_body_that_lies_about_the_amount_credits_the_invoices_amount(client, customer, open_invoice, platega):
    invoice = open_invoice(300)
    platega.set_status(invoice.gateway_id, "CONFIRMED")
    lie = {**platega.callback_body(invoice.gateway_id), "amount": 100000}
    assert platega.send_callback(invoice.gateway_id, body=lie).status_code == 200
    assert balance(customer.id) == 300


def test_a_gateway_amount_other_than_the_invoices_is_flagged_not_credited(client, customer, open_invoice, platega):
    invoice = open_invoice(300)
    platega.set_status(invoice.gateway_id, "CONFIRMED", amount=30)
    assert platega.send_callback(invoice.gateway_id).status_code == 200
    invoice = reload(invoice)
    assert balance(customer.id) == 0 and invoice.state == "pending"
    assert "for 30 instead of 300.00" in invoice.attention


def test_unknown_invoice_is_404_and_bad_bodies_are_400(client, customer, platega):
    headers = callback_headers()
    unknown = client.post("/platega/callback", json={"id": "no-such-id", "status": "CONFIRMED"}, headers=headers)
    assert unknown.status_code == 404 and unknown.json["status"] == "error"
    for raw in (b"not json", b"[]", b"{}", b'{"id": null}', b'{"id": ""}', b"\xff"):
        response = client.post("/platega/callback", data=raw, content_type="application/json", headers=headers)
        assert response.status_code == 400 and response.json["status"] == "error", raw
    for weird in ({"id": ["x"]}, {"id": {"a": 1}}, {"id": True}, {"id": "x" * 5000}, {"id": 12345}):
        response = client.post("/platega/callback", json=weird, headers=headers)
        assert response.status_code == 404, weird


def test_gateway_down_during_a_callback_is_still_200_and_the_poller_credits_later(client, customer, open_invoice,
                                                                                   platega):
    invoice = open_invoice(200)
    platega.set_status(invoice.gateway_id, "CONFIRMED")
    platega.fail_next("GET", "^/transaction/", status=503, times=1)
    response = client.post("/platega/callback", json=platega.callback_body(invoice.gateway_id),
                           headers=callback_headers())
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert balance(customer.id) == 0 and "503" in reload(invoice).last_error
    assert poller.poll_pending_invoices() == {"credited": 1}
    assert balance(customer.id) == 200 and reload(invoice).credited_by == "poller"


def test_the_poller_alone_confirms_and_then_has_nothing_to_do(customer, open_invoice, platega):
    invoice = open_invoice(150)
    assert poller.poll_pending_invoices() == {"unchanged": 1}
    platega.confirm(invoice.gateway_id, notify=False)  # the callbacks never arrive
    assert poller.poll_pending_invoices() == {"credited": 1}
    assert balance(customer.id) == 150
    assert poller.poll_pending_invoices() == {}


def test_the_poller_raises_when_the_gateway_is_down_and_keeps_the_invoice(customer, open_invoice, platega):
    invoice = open_invoice(150)
    platega.stop()
    with pytest.raises(poller.PollIncomplete):
        poller.poll_pending_invoices()
    invoice = reload(invoice)
    assert invoice.state == "pending" and invoice.last_error.startswith("cannot reach Platega")


def test_repeated_and_concurrent_callbacks_with_pollers_credit_once(app, customer, open_invoice, platega):
    invoice = open_invoice(700)
    platega.set_status(invoice.gateway_id, "CONFIRMED")
    start, errors, outcomes = threading.Barrier(12), [], []

    def callback():
        start.wait()
        outcomes.append(platega.send_callback(invoice.gateway_id).status_code)

    def poll():
        start.wait()
        with app.app_context():
            try:
                outcomes.append(poller.poll_pending_invoices())
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=callback) for _ in range(8)] + [threading.Thread(target=poll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert outcomes.count(200) == 8
    assert balance(customer.id) == 700
    assert [(r.type, r.status, r.amount) for r in rows_of(customer.id)] == [("add_balance", "CONFIRMED", 700)]
    assert db.session.scalar(select(func.count(MailMessage.id))) == 1


def test_cancel_closes_the_invoice_and_books_nothing(customer, open_invoice, platega):
    invoice = open_invoice(400)
    assert platega.cancel(invoice.gateway_id)[0].status_code == 200
    invoice = reload(invoice)
    assert invoice.state == "canceled" and invoice.closed_at is not None
    (row,) = rows_of(customer.id)
    assert row.status == "CANCELED" and balance(customer.id) == 0
    # A later lying CONFIRMED body changes nothing: the gateway still says CANCELED.
    lie = {**platega.callback_body(invoice.gateway_id), "status": "CONFIRMED"}
    assert platega.send_callback(invoice.gateway_id, body=lie).status_code == 200
    assert balance(customer.id) == 0 and poller.poll_pending_invoices() == {}


@pytest.mark.parametrize("status", ["EXPIRED", "FAILED"])
def test_older_closing_statuses_close_too(customer, open_invoice, platega, status):
    invoice = open_invoice(400)
    platega.set_status(invoice.gateway_id, status)
    assert poller.poll_pending_invoices() == {"closed": 1}
    assert reload(invoice).state == "canceled"


def test_a_chargeback_after_the_credit_books_one_reversing_row(customer, open_invoice, platega):
    invoice = open_invoice(600)
    platega.confirm(invoice.gateway_id)
    ledger.move_money(customer.id, -100, "buy_server", "spent meanwhile")
    db.session.commit()
    for _ in range(3):
        platega.chargeback(invoice.gateway_id)
    crediting.check_invoice(invoice.id, "poller")
    assert balance(customer.id) == -100  # may go negative
    credit, _, reversal = rows_of(customer.id)
    assert (credit.type, credit.status, credit.amount) == ("add_balance", "CONFIRMED", 600)  # the credit stays
    assert (reversal.type, reversal.status, reversal.amount) == ("chargeback", "CONFIRMED", -600)
    assert reversal.transaction_id == invoice.gateway_id
    invoice = reload(invoice)
    assert invoice.state == "charged_back" and invoice.chargeback_row_id == reversal.id


def test_a_chargeback_of_an_invoice_never_credited_books_nothing(customer, open_invoice, platega):
    invoice = open_invoice(600)
    platega.set_status(invoice.gateway_id, "CHARGEBACKED")
    assert platega.send_callback(invoice.gateway_id).status_code == 200
    assert reload(invoice).state == "canceled"
    assert [(r.type, r.status) for r in rows_of(customer.id)] == [("add_balance", "CANCELED")]
    assert balance(customer.id) == 0


def test_the_referrer_gets_its_share_once(customer, open_invoice, platega, pay_config):
    pay_config(REF_SHARE=0.1)
    referrer = make_user("friend@example.com", tg_id=777001)
    db.session.execute(text("UPDATE users SET ref_id = 777001 WHERE id = :id"), {"id": customer.id})
    db.session.commit()
    first, second = open_invoice(555), open_invoice(100)
    for _ in range(2):
        platega.confirm(first.gateway_id)
    poller.poll_pending_invoices()
    platega.confirm(second.gateway_id)
    assert balance(customer.id) == 655
    shares = rows_of(referrer.id, "referral")
    assert sorted(r.amount for r in shares) == [10, 55.5]
    assert balance(referrer.id) == 65.5
    platega.chargeback(first.gateway_id)  # the share of a charged-back top-up goes back too
    assert balance(referrer.id) == 10


def test_no_referral_row_without_a_share_or_a_referrer(customer, open_invoice, platega, pay_config):
    referrer = make_user("friend@example.com", tg_id=777002)
    db.session.execute(text("UPDATE users SET ref_id = 777002 WHERE id = :id"), {"id": customer.id})
    db.session.commit()
    platega.confirm(open_invoice(100).gateway_id)  # REF_SHARE is 0
    pay_config(REF_SHARE=0.1)
    db.session.execute(text("UPDATE users SET ref_id = 999999 WHERE id = :id"), {"id": customer.id})
    db.session.commit()
    platega.confirm(open_invoice(100).gateway_id)  # nobody has that tg_id
    assert rows_of(referrer.id, "referral") == [] and balance(customer.id) == 200
    assert db.session.scalar(select(func.count(Transaction.id)).where(Transaction.type == "referral")) == 0


def test_an_unpaid_invoice_expires_after_topup_pending_hours(customer, open_invoice, platega, pay_config):
    invoice = open_invoice(100)
    fresh = open_invoice(200)
    db.session.execute(text("UPDATE transactions SET created_at = now() - interval '25 hours' WHERE id = :id"),
                       {"id": invoice.ledger_row_id})
    db.session.commit()
    assert poller.poll_pending_invoices() == {"expired": 1, "unchanged": 1}
    assert reload(invoice).state == "expired" and reload(fresh).state == "pending"
    assert rows_of(customer.id)[0].status == "CANCELED"
    # Paid at the gateway after all: not credited by itself, flagged for staff.
    platega.confirm(invoice.gateway_id)
    invoice = reload(invoice)
    assert balance(customer.id) == 0 and "after it was expired" in invoice.attention


def test_the_gateway_forgetting_an_overdue_invoice_expires_it(customer, open_invoice, platega, pay_config):
    invoice = open_invoice(100)
    platega._transactions.clear()
    with pytest.raises(poller.PollIncomplete):  # unknown, but not overdue yet: kept
        poller.poll_pending_invoices()
    assert reload(invoice).state == "pending"
    pay_config(TOPUP_PENDING_HOURS=0)
    poller.poll_pending_invoices()
    assert reload(invoice).state == "expired"


def test_the_scheduler_polls_every_minute(app):
    from jobs.worker import build_scheduler

    jobs = {job.func_name: job for job in build_scheduler(app).get_jobs()}
    assert jobs["jobs.payments.poll_invoices"].cron == "* * * * *"
    assert jobs["jobs.payments.poll_invoices"].queue_name == "default"


def test_the_poll_job_runs_in_a_real_worker(app, customer, open_invoice, platega):
    from rq import Queue

    from jobs.worker import AppSimpleWorker, build_worker
    from oxnack_admin.extensions import redis_client

    invoice = open_invoice(120)
    platega.confirm(invoice.gateway_id, notify=False)
    Queue("default", connection=redis_client.connection).enqueue("jobs.payments.poll_invoices")
    build_worker(app, ["default"], AppSimpleWorker).work(burst=True)
    assert balance(customer.id) == 120


def legacy_pending_row(user: User, gateway_id: str, amount: int) -> Transaction:
    """A PENDING top-up as the old PaymentAPI wrote it: a transactions row and nothing else."""
    row = Transaction(username=user.username, user_id=user.id, type="add_balance", amount=amount,
                      date="01.11.2026", discription="legacy invoice", status="PENDING", transaction_id=gateway_id)
    db.session.add(row)
    db.session.commit()
    return row


def test_a_legacy_pending_row_is_credited_by_its_callback(customer, platega):
    created = platega._create({"paymentMethod": 2, "paymentDetails": {"amount": 340, "currency": "RUB"}}).body
    row = legacy_pending_row(customer, created["transactionId"], 340)
    platega.confirm(created["transactionId"])
    assert balance(customer.id) == 340
    db.session.expire_all()
    assert db.session.get(Transaction, row.id).status == "CONFIRMED"
    assert db.session.scalar(select(Invoice.ledger_row_id)) == row.id


def test_the_poller_adopts_legacy_pending_rows(customer, platega):
    created = platega._create({"paymentMethod": 2, "paymentDetails": {"amount": 90, "currency": "RUB"}}).body
    legacy_pending_row(customer, created["transactionId"], 90)
    platega.set_status(created["transactionId"], "CONFIRMED")
    assert poller.poll_pending_invoices() == {"credited": 1}
    assert balance(customer.id) == 90


def test_the_poller_stops_early_while_the_gateway_is_down(customer, open_invoice, platega):
    created = [open_invoice(100 + n) for n in range(5)]
    platega.stop()
    with pytest.raises(poller.PollIncomplete, match="3 of 5"):
        poller.poll_pending_invoices()
    db.session.expire_all()
    assert sorted(db.session.get(Invoice, i.id).checks for i in created) == [0, 0, 1, 1, 1]
