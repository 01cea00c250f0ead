"""Fixtures of the console tests: staff signed in by role, a populated shop, other app configurations."""
import hashlib
import os
from decimal import Decimal

import pytest
from flask import g
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from oxnack_admin import create_app
from oxnack_admin.extensions import db
from oxnack_admin.models import MarketService, ProvisioningRun, ProvisioningStep, ProxySyncRun
from oxnack_admin.models import Newsletter, SupportEntry, SupportTicket
from oxnack_admin.models.enums import PROVISIONING_STEPS, ProxySyncTrigger, RunState
from oxnack_admin.services.staff import api_tokens, two_factor
from tests.conftest import make_test_config
# The job tests' fixtures: loopback Proxmox and pfSense, pool VMs in both, a real burst RQ worker.
from tests.jobs.conftest import job_config, pfsense, pool, proxmox, work  # noqa: F401
from tests.support.two_factor import enrol
from tests.support.factories import make_invoice, make_promocode, make_server, make_staff, make_user

STAFF_PASSWORD = "staff-password-1"
HTMX = {"HX-Request": "true"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


class HtmxCsrfClient(FlaskClient):
    """A test client that sends the CSRF token on every state change, as the console's htmx does.

    The console puts the token in <body hx-headers='{"X-CSRFToken": ...}'>; here it is made from
    the client's own console session exactly as Flask-WTF's csrf_token() makes it. A client
    with `send_csrf = False` sends none (tests of the refusal).
    """

    send_csrf = True

    def open(self, *args, **kwargs):
        if self.send_csrf and str(kwargs.get("method", "GET")).upper() in STATE_CHANGING:
            headers = dict(kwargs.get("headers") or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        with self.session_transaction("/console/") as session:
            raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        key = self.application.config.get("WTF_CSRF_SECRET_KEY") or self.application.secret_key
        return URLSafeTimedSerializer(key, salt="wtf-csrf-token").dumps(raw)


@pytest.fixture(scope="session")
def app(app, database_url, redis_url):
    """The console tests' app: the session app's database and Redis, with CSRF on as in production."""
    console_app = create_app(make_test_config(database_url, redis_url, WTF_CSRF_ENABLED=True))
    console_app.test_client_class = HtmxCsrfClient
    return console_app


def forget_current_user() -> None:
    """pytest-flask keeps one app context (so one `g`) for the whole test; Flask-Login caches the
    user in `g`, and Flask-WTF its CSRF token. Dropping them makes the next request read both from its cookie."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def sign_in(client, staff) -> None:
    """Put `staff` in the console session the way Flask-Login does after a sign-in (password and code).

    A member of a role that needs 2FA is enrolled first, as the console would insist.
    """
    forget_current_user()
    if staff.role in client.application.config["STAFF_2FA_REQUIRED_ROLES"] and not two_factor.is_enrolled(staff):
        enrol(staff)
    with client.session_transaction("/console/") as session:
        session.clear()
        session["_user_id"] = staff.get_id()  # "<id>.<session generation>"
        session["_fresh"] = True


@pytest.fixture
def as_role(app, client):
    """as_role("admin") → a new staff member of that role, signed in on `client`."""
    def sign_in_as(role: str, email: str | None = None):
        staff = make_staff(role, email=email, password=STAFF_PASSWORD)
        sign_in(client, staff)
        return staff

    return sign_in_as


@pytest.fixture
def admin(as_role):
    return as_role("admin")


@pytest.fixture
def app_with(app, database_url, redis_url):
    """Another app on the same database and Redis (CSRF on, as the console tests' app), e.g. app_with(COOKIE_SECURE=True)."""
    def build(**overrides):
        built = create_app(make_test_config(database_url, redis_url, **{"WTF_CSRF_ENABLED": True, **overrides}))
        built.test_client_class = HtmxCsrfClient
        return built

    return build


@pytest.fixture
def upload_folder(app, tmp_path):
    """Market images go to a temporary folder for this test."""
    saved = app.config["UPLOAD_FOLDER"]
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = saved


def make_run(server, user, state: str = RunState.FAILED, failed_step: str = "network") -> ProvisioningRun:
    """A provisioning run row as the job leaves it: steps done up to `failed_step`, that one failed."""
    steps = []
    reached = False
    for position, name in enumerate(PROVISIONING_STEPS):
        if name == failed_step and state == RunState.FAILED:
            steps.append(ProvisioningStep(position=position, name=name, state=RunState.FAILED, attempts=3,
                                          error="pfSense: connection refused"))
            reached = True
        else:
            steps.append(ProvisioningStep(position=position, name=name,
                                          state=RunState.PENDING if reached or state == RunState.PENDING else RunState.DONE,
                                          attempts=0 if reached else 1))
    run = ProvisioningRun(server_id=server.id, user_id=user.id, cores=1, ram=1, hdd=15, os=server.os,
                          price=Decimal(30), state=state, steps=steps,
                          error="pfSense: connection refused" if state == RunState.FAILED else None)
    db.session.add(run)
    if server.busy and server.username == user.username:  # the state the run leaves its server in
        server.lifecycle_state = {RunState.FAILED: "failed", RunState.DONE: "active"}.get(state, "provisioning")
    db.session.commit()
    return run


@pytest.fixture
def shop(app):
    """One of everything the console shows, for walking every route."""
    customer = make_user("walk@example.com", balance=100, verified=False)
    sold = make_server(701, busy=True, username=customer.username, status="on")
    free = make_server(702)
    run = make_run(sold, customer)
    promo = make_promocode("WALK10", 10)
    service = MarketService(name_ru="Бот", description_ru="Описание", name_en="Bot", description_en="About",
                            price_usd=5, price_rub=450, image_link="", enabled=True)
    db.session.add(service)
    db.session.commit()
    other_staff = make_staff("support", email="colleague@oxnack.test")
    token, _ = api_tokens.issue(other_staff, "walk token")
    invoice = make_invoice(customer, 250)
    sync_run = ProxySyncRun(state=RunState.DONE, trigger=ProxySyncTrigger.CONSOLE, page_size=50)
    db.session.add(sync_run)
    ticket = SupportTicket(chat_id=5550999, user_id=customer.id, state="open", subject="walk", unread=1)
    newsletter = Newsletter(title="Walk", body="<b>walk</b>", audience="all", channel="mail", state="draft")
    db.session.add_all([ticket, newsletter])
    db.session.flush()
    entry = SupportEntry(ticket_id=ticket.id, kind="customer", text="walk", file_id="walk-file", file_kind="photo")
    db.session.add(entry)
    db.session.commit()
    return {"sync_run_id": sync_run.id, "user_id": customer.id, "server_id": sold.id, "free_server_id": free.id, "run_id": run.id,
            "promo": promo.promo, "service_id": service.id, "staff_id": other_staff.id,
            "token_id": token.id, "invoice_id": invoice.id, "queue_name": "default", "job_id": "no-such-job",
            "message_id": 999, "wipe_id": 999, "order_id": 999,
            "ticket_id": ticket.id, "entry_id": entry.id, "newsletter_id": newsletter.id, "action": "pause"}
