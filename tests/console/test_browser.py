"""The console in real headless Chromium: sign in, find a user, adjust a balance, create a promocode,
add pool VMs, watch provisioning go to done live, retry a failed run, read the audit log."""
import re
import threading

import pytest
from flask import current_app
from playwright.sync_api import expect
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, Promocode, Server, User
from oxnack_admin.services.provisioning import runs as provisioning_runs
from tests.console.conftest import STAFF_PASSWORD
from tests.jobs.support import place
from tests.support.browser import save_screenshot
from tests.support.factories import make_staff, make_user
from tests.support.two_factor import code, enrol

pytestmark = pytest.mark.browser


def sign_in(page, base_url: str, role: str = "owner"):
    staff = make_staff(role, email=f"{role}-browser@oxnack.test", password=STAFF_PASSWORD)
    secret = enrol(staff) if role in page_app_roles() else None
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm asks with window.confirm
    page.goto(f"{base_url}/console/login")
    page.get_by_label("E-mail").fill(staff.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if secret:
        page.get_by_label("Code from your authenticator app").fill(code(secret))
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    return staff


def page_app_roles() -> list[str]:
    return current_app.config["STAFF_2FA_REQUIRED_ROLES"]


def mark_page(page) -> None:
    """A flag only this page load has: still there later means htmx swapped, nothing reloaded."""
    page.evaluate("window.__noReload = true")


def not_reloaded(page) -> bool:
    return page.evaluate("window.__noReload === true")


def toast(page, text: str):
    return page.locator("#toasts .toast", has_text=text)


def test_staff_walkthrough(app, live_server_url, chromium_page):
    page = chromium_page
    alice = make_user("alice@example.com", balance=100)
    make_user("bob@example.com", balance=5)
    sign_in(page, live_server_url)
    assert page.locator(".simulator-banner").is_visible()
    save_screenshot(page, "console-dashboard-1280")

    # Find a user: the table filters as you type, the address bar follows.
    page.get_by_role("link", name="Users", exact=True).click()
    mark_page(page)
    page.get_by_label("Search users").fill("alice")
    expect(page).to_have_url(re.compile(r"/console/users\?q=alice"))
    expect(page.locator("#users-table tbody tr")).to_have_count(1)
    assert not_reloaded(page)
    page.get_by_role("link", name="Balance").click()  # sort without reloading
    expect(page).to_have_url(re.compile(r"sort=balance"))
    page.get_by_label("State").select_option("verified")  # a filter change keeps the order
    expect(page).to_have_url(re.compile(r"state=verified.*sort=balance|sort=balance.*state=verified"))
    assert not_reloaded(page)
    page.locator("#users-table").get_by_role("link", name="alice@example.com").click()

    # Adjust the balance: a wrong amount is refused beside the field, then it works.
    expect(page.get_by_role("heading", name="alice@example.com")).to_be_visible()
    mark_page(page)
    page.get_by_label("Amount").fill("lots")
    page.get_by_label("Reason").fill("refund for downtime")
    page.get_by_role("button", name="Adjust balance").click()
    expect(page.locator("#amount-error")).to_contain_text("Enter a number")
    expect(page.get_by_label("Amount")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Amount").fill("25")
    page.get_by_role("button", name="Adjust balance").click()
    expect(toast(page, "Balance adjusted by 25")).to_be_visible()
    expect(page.locator("#user-balance")).to_have_text("125.00")
    assert not_reloaded(page)
    save_screenshot(page, "console-user-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()  # a phone loads the page at its width: the menu starts folded
    expect(page.locator(".nav-toggle")).not_to_have_attribute("open", "")
    save_screenshot(page, "console-user-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Create a promocode with an error first.
    page.goto(f"{live_server_url}/console/promocodes/new")
    page.get_by_label("Code").fill("SUMMER20")
    page.get_by_label("Discount, %").fill("0")
    page.get_by_role("button", name="Create promocode").click()
    expect(page.locator("#discount-error")).to_contain_text("between 1 and 100")
    page.get_by_label("Discount, %").fill("20")
    page.get_by_label("Max uses in total").fill("50")
    page.get_by_role("button", name="Create promocode").click()
    expect(page).to_have_url(f"{live_server_url}/console/promocodes/SUMMER20")
    expect(toast(page, "Promocode SUMMER20 created")).to_be_visible()
    expect(page.locator("#promo-state")).to_have_text("active")

    # Add pool VMs: one, then a VMID range.
    page.goto(f"{live_server_url}/console/servers/new")
    page.get_by_label("VMID").fill("950")
    page.get_by_label("OS").select_option("ubuntu")
    page.get_by_label("Public IPv4 addresses").fill("198.51.100.50")
    page.get_by_role("button", name="Add to pool").click()
    expect(toast(page, "VM 950 added to the pool")).to_be_visible()
    page.goto(f"{live_server_url}/console/servers/bulk")
    page.get_by_label("First VMID").fill("960")
    page.get_by_label("Last VMID").fill("962")
    page.get_by_label("OS").select_option("debian")
    page.get_by_label("First public IPv4").fill("198.51.100.60")
    page.get_by_role("button", name="Add the range").click()
    expect(toast(page, "3 VMs added to the pool (960–962)")).to_be_visible()
    expect(page.locator("#servers-table tbody tr")).to_have_count(4)
    save_screenshot(page, "console-servers-1280")

    # The audit log has every action, with who did it.
    page.get_by_role("link", name="Audit log").click()
    for action in ("user.adjust_balance", "promocode.create", "server.add", "server.add_range", "staff.login"):
        expect(page.locator("#audit-table").get_by_text(action, exact=True)).to_be_visible()
    mark_page(page)
    page.get_by_label("Search").fill("promocode")
    expect(page.locator("#audit-table > .table-wrap > table > tbody > tr")).to_have_count(1)
    assert not_reloaded(page)
    save_screenshot(page, "console-audit-1280")

    db.session.expire_all()
    assert db.session.get(User, alice.id).balance == 125
    assert db.session.get(Promocode, "SUMMER20").max_uses == 50
    assert sorted(db.session.scalars(select(Server.id))) == [950, 960, 961, 962]


def test_watch_a_provisioning_run_go_to_done_live(app, live_server_url, chromium_page, proxmox, pfsense, pool):
    page = chromium_page
    pool(1)
    customer = make_user("buyer@example.com", balance=500)
    run_id = place(customer).run.id
    proxmox.delay_next(r"/status/start$", 3)  # hold the start step long enough to be seen running
    sign_in(page, live_server_url, "support")
    page.goto(f"{live_server_url}/console/servers/301")
    run = page.locator(f"#run-{run_id}")
    expect(run).to_have_attribute("data-state", "pending")
    mark_page(page)

    worker = threading.Thread(target=_advance, args=(app, run_id))
    worker.start()
    try:
        expect(run.locator('[data-step="configure_vm"]')).to_have_attribute("data-state", "done", timeout=20_000)
        expect(run.locator('[data-step="start_vm"]')).to_have_attribute("data-state", "running", timeout=20_000)
        save_screenshot(page, "console-provisioning-running")
        expect(run).to_have_attribute("data-state", "done", timeout=30_000)
    finally:
        worker.join(timeout=60)
    expect(run.locator('[data-state="done"].step')).to_have_count(5)
    assert not_reloaded(page)
    expect(run).not_to_have_attribute("hx-trigger", "every 1s")  # polling stopped once final
    save_screenshot(page, "console-provisioning-done")


def test_retry_a_failed_run_from_the_console(app, live_server_url, chromium_page, proxmox, pfsense, pool, work):
    page = chromium_page
    pool(1)
    customer = make_user("unlucky@example.com", balance=500)
    proxmox.fail_task_next("resize", "storage is full")
    run_id = place(customer, hdd=22).run.id
    work("provisioning")
    staff = sign_in(page, live_server_url, "admin")
    page.goto(f"{live_server_url}/console/servers/301")
    run = page.locator(f"#run-{run_id}")
    expect(run).to_have_attribute("data-state", "failed")
    expect(run.locator('[data-step="resize_disk"]')).to_contain_text("storage is full")
    save_screenshot(page, "console-provisioning-failed")
    mark_page(page)
    run.get_by_role("button", name="Retry from failed step").click()
    expect(toast(page, f"Provisioning run {run_id} queued again")).to_be_visible()
    expect(run).to_have_attribute("data-state", "pending")
    work("provisioning")  # the browser keeps polling on its own meanwhile
    expect(run).to_have_attribute("data-state", "done", timeout=30_000)
    assert not_reloaded(page)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "provisioning.retry"))
    assert event.staff_id == staff.id


def _advance(app, run_id: int) -> None:
    """What the provisioning job does, in a thread so the browser can watch it happen."""
    with app.app_context():
        try:
            provisioning_runs.advance(run_id)
        finally:
            db.session.remove()
