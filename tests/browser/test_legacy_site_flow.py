"""The unchanged legacy site, served from its own origin, works against the app in real Chromium."""
import re
from pathlib import Path

import pytest
from flask import Flask, send_from_directory
from sqlalchemy import select

from oxnack_admin import create_app
from oxnack_admin.extensions import db
from oxnack_admin.models import MailMessage, MarketService, ProvisioningRun, User
from oxnack_admin.models.enums import RunState
from tests.conftest import make_test_config
from tests.support.browser import save_screenshot, serve
from tests.support.factories import make_pool

pytestmark = pytest.mark.browser
SITE = Path(__file__).parent / "site"


def site_app() -> Flask:
    site = Flask("legacy_site")
    site.add_url_rule("/", "index", lambda: send_from_directory(SITE, "index.html"))
    return site


@pytest.fixture
def legacy_setup(app, database_url, redis_url):
    """The app on two ports (the old 7004 and 7002) and the site on a third origin."""
    with serve(site_app()) as site_url:
        api_app = create_app(make_test_config(database_url, redis_url, CORS_ORIGINS=[site_url]))
        with serve(api_app) as auth_url, serve(api_app) as api_url:
            yield site_url, auth_url, api_url


def latest_code(mail: str) -> str:
    body = db.session.scalars(select(MailMessage.body).where(MailMessage.to_email == mail)
                              .order_by(MailMessage.id.desc())).first()
    return re.search(r"\b(\d{6})\b", body).group(1)


def test_register_confirm_login_order_control_and_log_out(legacy_setup, chromium_page):
    site_url, auth_url, api_url = legacy_setup
    make_pool(2, "ubuntu")
    db.session.add_all([MarketService(name_en="Landing page", price_usd=80, price_rub=7000, enabled=True),
                        MarketService(name_en="Withdrawn thing", price_usd=1, price_rub=90, enabled=False)])
    db.session.commit()
    page = chromium_page
    page.goto(f"{site_url}/?auth={auth_url}&api={api_url}")
    page.wait_for_function("document.querySelectorAll('#os option').length > 0")
    assert page.inner_text("#header-mail") == "guest"
    page.wait_for_selector("#market-list li")
    assert page.inner_text("#market-list") == "Landing page — 80 USD / 7000 RUB"  # enabled services only

    page.fill("#mail", "newcomer@example.com")
    page.fill("#passwd", "GoodPass1")
    page.click("#register")
    page.wait_for_selector("#auth-result:has-text('200 Confirmation code sent to email')")
    page.click("#resend")  # the old backend answered 409 here; a fresh code must come
    page.wait_for_selector("#auth-result:has-text('200 Confirmation code sent to email')")

    page.fill("#code", latest_code("newcomer@example.com"))
    page.click("#confirm")
    page.wait_for_selector("#auth-result:has-text('200 Authentication successful')")
    page.wait_for_selector("#header-mail:has-text('newcomer@example.com')")
    assert page.inner_text("#header-balance") == "0"

    # Money arrives (as a top-up would), then the customer orders a server.
    from oxnack_admin.models.enums import TransactionType
    from oxnack_admin.services.money import ledger
    user = db.session.scalar(select(User).where(User.mail == "newcomer@example.com"))
    ledger.move_money(user.id, 300, TransactionType.TOP_UP, "test top-up")
    db.session.commit()

    page.select_option("#os", "ubuntu")
    page.click("#calc")
    page.wait_for_selector("#price:has-text('240')")  # 2 cores*10 + 2 GB*10 + 20 GB*10
    page.click("#order")
    page.wait_for_selector("#order-result:has-text('201')")
    page.wait_for_selector("#my-services tr")
    row = page.inner_text("#my-services tr")
    assert "undefined" not in row and "null" not in row
    assert page.inner_text("#header-balance") == "60"

    # Provisioning itself runs in the worker (tests/jobs); here the VM is simply ready.
    run = db.session.scalar(select(ProvisioningRun))
    run.state = RunState.DONE
    db.session.commit()
    page.click("#my-services tr .start")
    page.wait_for_function("/^2\\d\\d /.test(document.querySelector('#control-result').textContent)")
    page.click("#my-services tr .stop")  # the start job holds the VM: a second action is refused
    page.wait_for_selector("#control-result:has-text('409')")
    save_screenshot(page, "legacy-site-flow")

    page.click("#reset")
    page.wait_for_selector("#header-mail:has-text('guest')")
