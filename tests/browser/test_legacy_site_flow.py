"""The unchanged legacy site, served from its own origin, works against the app in real Chromium."""
import re
from datetime import datetime, timedelta, timezone
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
from tests.support.factories import make_pool, make_server, make_user

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
    assert "undefined" not in row and "null" not in row and "Invalid Date" not in row
    today = datetime.now(timezone.utc).date()  # the dates are UTC days; this browser runs in UTC or east of it
    assert page.inner_text("#my-services tr .created") == today.strftime("%d.%m.%Y")  # ru-RU, as my.html shows it
    assert page.inner_text("#my-services tr .expires") == (today + timedelta(days=30)).strftime("%d.%m.%Y")
    assert page.inner_text("#header-balance") == "60"

    # Start right after ordering: the VM will be running when created; stop must wait for that.
    page.click("#my-services tr .start")
    page.wait_for_selector("#control-result:has-text('200 server will be running when created')")
    page.click("#my-services tr .stop")
    page.wait_for_selector("#control-result:has-text('409 server is still being created')")

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


def dates_in_chromium(page, api_url: str) -> list[dict]:
    """What `new Date(value)` makes of each returned date in the browser (the site's own reading)."""
    return page.evaluate("""async api => {
        const r = await fetch(api + "/user_services", {credentials: "include"});
        const services = (await r.json()).services;
        return services.map(s => Object.fromEntries(["date_start", "date_stop"].map(k => {
            const d = new Date(s[k]);
            return [k, {raw: s[k], valid: !isNaN(d), y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate()}];
        })));
    }""", api_url)


def test_my_services_shows_real_dates_for_new_and_adopted_servers(legacy_setup, chromium_page):
    """A legacy customer's server has no dates of its own: the owner's dd.mm.yyyy, converted, reach the page."""
    site_url, auth_url, api_url = legacy_setup
    owner = make_user("anna@example.com", password="GoodPass1")
    owner.date_start, owner.date_stop = "01.10.2025", "31.12.2025"  # the legacy users.date_start/date_stop
    db.session.commit()
    make_server(105, busy=True, username=owner.username, status="on", ips=["203.0.113.10"])
    make_server(106, busy=True, username=owner.username, status="on", ips=["203.0.113.11"],
                rented_at=datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc),
                paid_until=datetime(2026, 12, 30, 23, 30, tzinfo=timezone.utc))
    page = chromium_page
    page.goto(f"{site_url}/?auth={auth_url}&api={api_url}")
    page.fill("#mail", "anna@example.com")
    page.fill("#passwd", "GoodPass1")
    page.click("#login")
    page.wait_for_selector("#my-services tr[data-id='106']")

    adopted, new = dates_in_chromium(page, api_url)
    assert adopted["date_start"] == {"raw": "2025-10-01", "valid": True, "y": 2025, "m": 10, "d": 1}
    assert adopted["date_stop"] == {"raw": "2025-12-31", "valid": True, "y": 2025, "m": 12, "d": 31}
    assert new["date_start"] == {"raw": "2026-11-30", "valid": True, "y": 2026, "m": 11, "d": 30}
    assert new["date_stop"] == {"raw": "2026-12-30", "valid": True, "y": 2026, "m": 12, "d": 30}
    table = page.inner_text("#my-services")
    assert "Invalid Date" not in table and "undefined" not in table
    assert page.inner_text("#my-services tr[data-id='105'] .created") == "01.10.2025"
    assert page.inner_text("#my-services tr[data-id='105'] .expires") == "31.12.2025"
    save_screenshot(page, "legacy-site-dates")
