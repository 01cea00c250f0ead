"""The simulator's payment page end to end over HTTP, our return page, and /debug/cache behind a staff token."""
import time

import requests
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Invoice, User
from oxnack_admin.services.staff import api_tokens
from tests.support.customers import sign_in
from tests.support.factories import make_staff, make_user


def wait_for(predicate, seconds: float = 10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_payer_pays_on_the_simulators_page_and_lands_on_our_return_page(app, live_server_url, platega):
    user = make_user("browser@example.com")
    token = sign_in(user)
    web = requests.Session()
    web.cookies.set("session_id", token)
    created = web.post(f"{live_server_url}/create_invoice", json={"amount": 990}, timeout=10)
    assert created.status_code == 201
    pay_page = web.get(created.json()["redirect"], timeout=10)
    assert pay_page.status_code == 200 and "Pay (confirm)" in pay_page.text and "990 RUB" in pay_page.text
    gateway_id = created.json()["transaction_id"]
    landed = web.post(f"{platega.url}/pay/{gateway_id}/confirm", data={"from": "pay"}, timeout=10)
    # The simulator sent the payer to the return URL it was given: our own page, on our origin.
    assert landed.url.startswith(f"{live_server_url}/topup/return/inv_")
    assert landed.status_code == 200 and "Вернуться на сайт" in landed.text
    assert 'href="http://localhost:8080"' in landed.text  # the site, from CORS_ORIGINS
    assert wait_for(lambda: db.session.get(User, user.id).balance == 990)
    assert "Оплачено" in web.get(landed.url, timeout=10).text
    # The page's confirm sends the callback from a thread, which records its answer after the
    # app has already credited: wait for that record rather than race it.
    assert wait_for(lambda: platega.callbacks)
    assert all(c.status_code == 200 for c in platega.callbacks)


def test_the_return_page_asks_the_gateway_when_the_callback_is_late(client, customer, open_invoice, platega):
    invoice = open_invoice(120)
    page = client.get(f"/topup/return/{invoice.reference}")
    assert page.status_code == 200 and "Ожидаем оплату" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    platega.confirm(invoice.gateway_id, notify=False)
    page = client.get(f"/topup/return/{invoice.reference}").get_data(as_text=True)
    assert "Оплачено" in page
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).credited_by == "return page"
    platega.cancel(open_invoice(50).gateway_id)
    canceled = db.session.scalar(select(Invoice).where(Invoice.amount == 50))
    assert "Платёж отменён" in client.get(f"/topup/return/{canceled.reference}").get_data(as_text=True)


def test_the_return_page_of_an_unknown_invoice_is_404(client):
    assert client.get("/topup/return/inv_nope").status_code == 404
    assert client.get("/topup/return/" + "x" * 300).status_code == 404


def test_the_site_link_comes_from_topup_site_url(client, customer, open_invoice, pay_config):
    pay_config(TOPUP_SITE_URL="https://oxnack.example/account")
    invoice = open_invoice(100)
    assert 'href="https://oxnack.example/account"' in client.get(f"/topup/return/{invoice.reference}").get_data(
        as_text=True)


def test_debug_cache_lists_pending_invoices_for_a_staff_token(client, customer, open_invoice, platega):
    first, second = open_invoice(100), open_invoice(250)
    platega.confirm(second.gateway_id)
    _, token = api_tokens.issue(make_staff("admin"), "cache")
    db.session.commit()
    response = client.get("/debug/cache", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    (pending,) = response.json["pending"]
    assert set(pending) == {"transaction_id", "username", "amount", "created_at"}
    assert pending["transaction_id"] == first.gateway_id and pending["username"] == "payer"
    assert pending["amount"] == 100 and pending["created_at"].startswith(str(first.created_at.date()))


def test_debug_cache_refuses_without_a_valid_admin_token(client, platega):
    assert client.get("/debug/cache").status_code == 401
    assert client.get("/debug/cache").json == {"status": "error", "message": "unauthorized"}
    _, support = api_tokens.issue(make_staff("support"), "low")
    db.session.commit()
    response = client.get("/debug/cache", headers={"Authorization": f"Bearer {support}"})
    assert response.status_code == 403 and response.json == {"status": "error", "message": "forbidden"}
