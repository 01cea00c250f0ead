"""The whole two-factor sign-in in real headless Chromium: enrol when the role requires it, keep the
recovery codes, sign out, sign in again with the password and then the code."""
import re

import pytest
from playwright.sync_api import expect

from tests.console.conftest import STAFF_PASSWORD
from tests.support.factories import make_staff
from tests.support.two_factor import code

pytestmark = pytest.mark.browser


def test_an_admin_enrols_then_signs_in_with_a_code(app, live_server_url, chromium_page):
    page = chromium_page
    admin = make_staff("admin", email="browser-2fa@oxnack.test", password=STAFF_PASSWORD)
    page.goto(f"{live_server_url}/console/login")
    page.get_by_label("E-mail").fill(admin.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The role needs 2FA: the console sends the admin to enrol, whatever page they asked for.
    expect(page.get_by_text("Your role needs two-factor sign-in")).to_be_visible()
    page.goto(f"{live_server_url}/console/users")
    expect(page).to_have_url(re.compile(r"/console/two-factor$"))
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    field = page.get_by_label("Code from your authenticator app")
    expect(field).to_be_focused()
    field.fill(code(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="go to the console").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("E-mail").fill(admin.email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    field = page.get_by_label("Code from your authenticator app")
    expect(field).to_be_focused()  # one short flow: type the six digits at once
    expect(field).to_have_attribute("inputmode", "numeric")
    expect(field).to_have_attribute("autocomplete", "one-time-code")
    field.fill(code(secret, steps_from_now=1))  # the enrolment code's step is spent; the next one is not
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
