"""The console's Invoices page: filters, Platega's last answer, check now, mark paid by hand (audited, once)."""
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, Invoice, Transaction, User
from oxnack_admin.services.payments import crediting
from tests.console.conftest import HTMX, forget_current_user
from tests.payments.conftest import pay_config, platega, unbalanced_users  # noqa: F401  (fixtures)
from tests.support.factories import make_invoice, make_user


def test_the_list_filters_by_state_and_customer(app, client, as_role):
    as_role("support")
    anna, boris = make_user("anna@example.com"), make_user("boris@example.com")
    paid = make_invoice(anna, 300)
    make_invoice(boris, 700)
    crediting.mark_paid(paid.id, make_user_staff(), "test")
    forget_current_user()  # rendering the mail outside a client request cached an anonymous user in `g`
    response = client.get("/console/invoices")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "anna@example.com" in page and "boris@example.com" in page
    only_paid = client.get("/console/invoices?state=paid", headers=HTMX).get_data(as_text=True)
    assert "anna@example.com" in only_paid and "boris@example.com" not in only_paid
    by_customer = client.get("/console/invoices?customer=boris", headers=HTMX).get_data(as_text=True)
    assert "boris@example.com" in by_customer and "anna@example.com" not in by_customer
    assert 'aria-current="page">Invoices' in page
    assert unbalanced_users() == []


def make_user_staff():
    from tests.support.factories import make_staff
    return make_staff("admin", email="seed-admin@oxnack.test")


def test_check_now_reads_platega_and_shows_its_last_answer(app, client, as_role, platega):
    as_role("support")
    customer = make_user("payer@example.com")
    created = platega._create({"paymentMethod": 2, "paymentDetails": {"amount": 450, "currency": "RUB"},
                               "payload": "inv_check"}).body
    invoice = make_invoice(customer, 450, gateway_id=created["transactionId"])
    db.session.execute(Invoice.__table__.update().where(Invoice.id == invoice.id).values(reference="inv_check"))
    db.session.commit()
    platega.set_status(invoice.gateway_id, "CONFIRMED")
    response = client.post(f"/console/invoices/{invoice.id}/check", headers=HTMX)
    assert response.status_code == 200 and "Credited." in response.headers["HX-Trigger"]
    body = response.get_data(as_text=True)
    assert "&#34;status&#34;: &#34;CONFIRMED&#34;" in body or '"status": "CONFIRMED"' in body
    db.session.expire_all()
    assert db.session.get(User, customer.id).balance == 450
    assert db.session.get(Invoice, invoice.id).credited_by.startswith("check by support")
    assert unbalanced_users() == []


def test_check_now_with_the_gateway_down_says_so(app, client, as_role, platega):
    as_role("support")
    invoice = make_invoice(make_user("payer@example.com"), 100)
    platega.stop()
    response = client.post(f"/console/invoices/{invoice.id}/check", headers=HTMX)
    assert response.status_code == 200 and "could not be asked" in response.headers["HX-Trigger"]


def test_mark_paid_needs_a_reason_is_audited_and_credits_once(app, client, admin):
    customer = make_user("payer@example.com")
    invoice = make_invoice(customer, 250)
    refused = client.post(f"/console/invoices/{invoice.id}/mark-paid", data={"reason": "  "}, headers=HTMX)
    assert refused.status_code == 422
    response = client.post(f"/console/invoices/{invoice.id}/mark-paid",
                           data={"reason": "paid by bank transfer, ticket 42"}, headers=HTMX)
    assert response.status_code == 200 and "Credited 250.00 by hand" in response.headers["HX-Trigger"]
    again = client.post(f"/console/invoices/{invoice.id}/mark-paid", data={"reason": "double click"}, headers=HTMX)
    assert again.status_code == 409
    db.session.expire_all()
    assert db.session.get(User, customer.id).balance == 250
    row = db.session.get(Transaction, invoice.ledger_row_id)
    assert row.status == "CONFIRMED" and db.session.scalar(select(func.count(Transaction.id))) == 1
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "invoice.mark_paid"))
    assert event.staff_id == admin.id and event.after["reason"] == "paid by bank transfer, ticket 42"
    assert db.session.get(Invoice, invoice.id).credited_by == admin.email
    assert unbalanced_users() == []


def test_support_cannot_mark_paid(app, client, as_role):
    as_role("support")
    invoice = make_invoice(make_user("payer@example.com"), 250)
    assert client.post(f"/console/invoices/{invoice.id}/mark-paid", data={"reason": "x"}).status_code == 403
    assert "Mark paid by hand" not in client.get(f"/console/invoices/{invoice.id}").get_data(as_text=True)


def test_top_ups_reach_the_dashboard_chart(app, client, admin):
    invoice = make_invoice(make_user("payer@example.com"), 321)
    crediting.mark_paid(invoice.id, admin, "test")
    forget_current_user()
    page = client.get("/console/").get_data(as_text=True)
    assert "Top-ups 321.00" in page and "top-ups 321.00" in page


def test_the_banner_says_when_the_gateway_is_simulated(app, client, admin, pay_config):
    pay_config(PAYMENT_GATEWAY="simulator", HYPERVISOR="proxmox")
    page = client.get("/console/invoices").get_data(as_text=True)
    assert "The payment gateway is a simulated Platega" in page and "Proxmox and pfSense are loopback" not in page
    pay_config(PAYMENT_GATEWAY="platega")
    assert "simulator-banner" not in client.get("/console/invoices").get_data(as_text=True)
