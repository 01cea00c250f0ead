"""Users: search, sort, paginate; the account page; balance, verification, code, sessions, blocking."""
import re
from decimal import Decimal

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, MailMessage, ProxyInventory, ProxyOrder, Transaction, User, UserSession
from oxnack_admin.models.enums import ProxyOrderState, TransactionType
from oxnack_admin.services.accounts import codes
from tests.console.conftest import HTMX
from tests.support.customers import sign_in as customer_session
from tests.support.factories import make_server, make_user


def audit_events(action):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_search_by_mail_username_and_telegram(app, client, as_role):
    as_role("support")
    make_user("alice@example.com")
    make_user("bob@example.com", tg_username="bobby_tg", tg_id=777001)
    body = client.get("/console/users?q=ALICE").get_data(as_text=True)
    assert "alice@example.com" in body and "bob@example.com" not in body
    assert "bob@example.com" in client.get("/console/users?q=bobby").get_data(as_text=True)
    assert "bob@example.com" in client.get("/console/users?q=777001").get_data(as_text=True)
    assert "No customer matches" in client.get("/console/users?q=nobody").get_data(as_text=True)


def test_htmx_gets_the_table_a_normal_request_the_page(app, client, as_role):
    as_role("support")
    make_user("one@example.com")
    fragment = client.get("/console/users?q=one", headers=HTMX).get_data(as_text=True)
    assert "one@example.com" in fragment and "<html" not in fragment and "<table" in fragment
    page = client.get("/console/users?q=one").get_data(as_text=True)
    assert page.startswith("<!doctype html>") and "one@example.com" in page
    restore = client.get("/console/users?q=one", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_sort_and_paginate(app, client, as_role):
    as_role("support")
    for index, balance in enumerate([30, 10, 20]):
        make_user(f"p{index}@example.com", balance=balance)
    body = client.get("/console/users?sort=balance&dir=desc&per_page=2", headers=HTMX).get_data(as_text=True)
    assert body.index("p0@example.com") < body.index("p2@example.com") and "p1@example.com" not in body
    assert "1–2 of 3" in body and "page=2" in body
    second = client.get("/console/users?sort=balance&dir=desc&per_page=2&page=2", headers=HTMX).get_data(as_text=True)
    assert "p1@example.com" in second and "p0@example.com" not in second
    # Nonsense parameters fall back to defaults instead of failing.
    assert client.get("/console/users?sort=passwd_hash&dir=sideways&page=-4").status_code == 200


def test_filter_by_state(app, client, as_role):
    as_role("support")
    make_user("ok@example.com")
    make_user("new@example.com", verified=False)
    body = client.get("/console/users?state=unverified", headers=HTMX).get_data(as_text=True)
    assert "new@example.com" in body and "ok@example.com" not in body


def adjust_form_token(client, user_id: int) -> str:
    """The one-time token of the adjust-balance form as the account page renders it."""
    body = client.get(f"/console/users/{user_id}").get_data(as_text=True)
    found = re.search(r'name="submit_token"[^>]*value="([^"]+)"', body)
    assert found, "the adjust-balance form carries no one-time token"
    return found.group(1)


def section(body: str, heading_id: str) -> str:
    """The HTML of the panel labelled by `heading_id`, so a check cannot pass on another panel's text."""
    start = body.index(f'aria-labelledby="{heading_id}"')
    return body[start:body.index("</section>", start)]


def test_the_account_page_shows_this_customers_sessions_servers_and_transactions(app, client, as_role):
    as_role("support")
    user = make_user("full@example.com", balance=75)
    customer_session(user)
    make_server(801, busy=True, username=user.username, status="on")
    other = make_user("other@example.com", balance=12)
    make_server(802, busy=True, username=other.username, status="on")
    body = client.get(f"/console/users/{user.id}").get_data(as_text=True)
    assert "full@example.com" in section(body, "h-account") and ">75.00<" in section(body, "h-account")
    sessions = section(body, "h-sessions")
    assert "Sessions <span class=\"muted\">(1)</span>" in sessions and "pytest" in sessions  # the session's browser
    servers = section(body, "h-servers")
    assert "/console/servers/801" in servers and "/console/servers/802" not in servers
    ledger = section(body, "h-ledger")
    assert "test opening balance" in ledger and "75.00" in ledger and "12.00" not in ledger


def test_adjusting_a_balance_writes_the_ledger_and_the_audit_log(app, client, as_role):
    staff = as_role("admin")
    user = make_user("money@example.com", balance=100)
    response = client.post(f"/console/users/{user.id}/balance", headers=HTMX, data={
        "amount": "-20.50", "reason": "goodwill fix", "submit_token": adjust_form_token(client, user.id)})
    assert response.status_code == 200
    assert "Balance adjusted by -20.50" in response.headers["HX-Trigger"]
    assert "79.50" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).balance == Decimal("79.50")
    row = db.session.scalar(select(Transaction).where(Transaction.user_id == user.id, Transaction.staff_id == staff.id))
    assert row.type == TransactionType.ADJUSTMENT and row.amount == Decimal("-20.50")
    assert "goodwill fix" in row.discription
    event, = audit_events("user.adjust_balance")
    assert event.staff_id == staff.id and event.target_id == str(user.id)
    assert event.before == {"balance": "100.00"} and event.after["balance"] == "79.50"


def test_the_same_adjustment_form_sent_twice_moves_money_once(app, client, as_role):
    staff = as_role("admin")
    user = make_user("twice@example.com", balance=10)
    form = {"amount": "25", "reason": "double click", "submit_token": adjust_form_token(client, user.id)}
    first = client.post(f"/console/users/{user.id}/balance", data=form, headers=HTMX)
    assert first.status_code == 200 and "Balance adjusted by 25" in first.headers["HX-Trigger"]
    assert adjust_form_token(client, user.id) != form["submit_token"]  # the redrawn form is a new one
    again = client.post(f"/console/users/{user.id}/balance", data=form, headers=HTMX)
    assert again.status_code == 200 and "already made" in again.headers["HX-Trigger"]
    plain = client.post(f"/console/users/{user.id}/balance", data=form)  # a browser's resubmit, no htmx
    assert plain.status_code == 303 and "already made" in client.get(plain.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).balance == Decimal(35)
    assert db.session.scalar(select(func.count(Transaction.id)).where(Transaction.staff_id == staff.id)) == 1
    assert len(audit_events("user.adjust_balance")) == 1
    # A new form is a new adjustment; a post without the form's token moves nothing.
    form["submit_token"] = adjust_form_token(client, user.id)
    assert client.post(f"/console/users/{user.id}/balance", data=form, headers=HTMX).status_code == 200
    tokenless = client.post(f"/console/users/{user.id}/balance", data={"amount": "25", "reason": "x"}, headers=HTMX)
    assert tokenless.status_code == 422 and "reload" in tokenless.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(User, user.id).balance == Decimal(60)


def test_a_debit_beyond_the_balance_is_refused_beside_the_field(app, client, as_role):
    as_role("admin")
    user = make_user("poor@example.com", balance=10)
    token = adjust_form_token(client, user.id)
    def adjust(amount: str, reason: str = "x"):
        return client.post(f"/console/users/{user.id}/balance", headers=HTMX,
                           data={"amount": amount, "reason": reason, "submit_token": token})
    response = adjust("-11")
    assert response.status_code == 422 and "does not cover" in response.get_data(as_text=True)
    assert "aria-invalid" in response.get_data(as_text=True)
    for amount, message in (("abc", "Enter a number"), ("0", "cannot be zero"), ("1.234", "two decimals")):
        bad = adjust(amount)
        assert bad.status_code == 422 and message in bad.get_data(as_text=True), amount
    missing_reason = adjust("5", reason="")
    assert missing_reason.status_code == 422
    db.session.expire_all()
    assert db.session.get(User, user.id).balance == Decimal(10)
    assert not audit_events("user.adjust_balance")


def test_without_htmx_an_action_redirects_with_a_flash(app, client, as_role):
    as_role("admin")
    user = make_user("plain@example.com", verified=False)
    response = client.post(f"/console/users/{user.id}/verify")
    assert response.status_code == 303 and response.headers["Location"] == f"/console/users/{user.id}"
    assert "marked as verified" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_verify_email(app, client, as_role):
    as_role("admin")
    user = make_user("unverified@example.com", verified=False)
    assert client.post(f"/console/users/{user.id}/verify", headers=HTMX).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).is_verified is True
    again = client.post(f"/console/users/{user.id}/verify", headers=HTMX)
    assert again.status_code == 409 and "already verified" in again.headers["HX-Trigger"]
    assert len(audit_events("user.verify_email")) == 1


def test_support_can_resend_the_registration_code(app, client, as_role):
    as_role("support")
    user = make_user("waiting@example.com", verified=False)
    response = client.post(f"/console/users/{user.id}/resend-code", headers=HTMX)
    assert response.status_code == 200
    message = db.session.scalar(select(MailMessage).where(MailMessage.to_email == "waiting@example.com"))
    assert message is not None and message.kind == "registration_code"
    assert codes.seconds_left(codes.REGISTRATION, "waiting@example.com") is not None
    verified = make_user("done@example.com")
    assert client.post(f"/console/users/{verified.id}/resend-code", headers=HTMX).status_code == 409


def test_end_all_sessions(app, client, as_role):
    as_role("admin")
    user = make_user("devices@example.com")
    customer_session(user)
    customer_session(user)
    response = client.post(f"/console/users/{user.id}/end-sessions", headers=HTMX)
    assert response.status_code == 200 and "2 session(s) ended" in response.headers["HX-Trigger"]
    assert db.session.scalar(select(func.count(UserSession.id)).where(UserSession.user_id == user.id)) == 0
    assert audit_events("user.end_sessions")[0].after == {"sessions_ended": 2}


def test_block_and_unblock(app, client, as_role):
    as_role("admin")
    user = make_user("rogue@example.com")
    customer_session(user)
    assert client.post(f"/console/users/{user.id}/block", headers=HTMX).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).blocked_at is not None
    assert db.session.scalar(select(func.count(UserSession.id)).where(UserSession.user_id == user.id)) == 0
    assert client.post(f"/console/users/{user.id}/block", headers=HTMX).status_code == 409
    assert client.post(f"/console/users/{user.id}/unblock", headers=HTMX).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, user.id).blocked_at is None
    assert [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))] == ["user.block", "user.unblock"]


def test_an_unknown_user_is_404(app, client, as_role):
    as_role("admin")
    assert client.get("/console/users/999999").status_code == 404
    assert client.post("/console/users/999999/verify", headers=HTMX).status_code == 404


def test_the_account_page_lists_the_customers_proxy_orders(app, client, as_role):
    as_role("support")
    user, other = make_user("proxies@example.com"), make_user("someone-else@example.com")
    stock = ProxyInventory(upstream_id=880001, ip="203.0.113.7", country_code="DE")
    db.session.add(stock)
    db.session.flush()
    for owner, ip, state in ((user, "203.0.113.7", ProxyOrderState.ACTIVE), (user, "203.0.113.8", ProxyOrderState.REFUNDED),
                             (other, "203.0.113.99", ProxyOrderState.ACTIVE)):
        db.session.add(ProxyOrder(user_id=owner.id, inventory_id=stock.id, upstream_proxy_id=880001, state=state,
                                  price_usd=Decimal("2.00"), price_rub=Decimal("180.00"), proxy_ip=ip,
                                  login="proxy-login", password="proxy-secret-123"))
    db.session.commit()
    body = client.get(f"/console/users/{user.id}").get_data(as_text=True)
    assert "not open yet" not in body
    assert 'Proxy orders <span class="muted">(2)</span>' in body
    assert "203.0.113.7" in body and "203.0.113.8" in body and "refunded" in body and "203.0.113.99" not in body
    assert "proxy-secret-123" not in body  # credentials are the customer's, not the console's
