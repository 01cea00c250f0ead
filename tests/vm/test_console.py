"""POST /console_link and the relay: single-use links and sessions, the RFB handshake carried both ways."""
import re
from datetime import datetime, timedelta, timezone

import pytest
from websockets.exceptions import InvalidMessage, InvalidStatus
from websockets.sync.client import connect

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.services.vm import console
from tests.conftest import TEST_SITE_ORIGIN
from tests.ops.test_metrics import requests_of, samples
from tests.support import rfb
from tests.support.browser import serve
from tests.support.factories import make_user
from tests.support.rfb import session_of


@pytest.fixture
def live(app):
    """The app on werkzeug's server, as `flask run` serves it (WebSockets need a real socket); its base URL."""
    with serve(app) as url:
        yield url


def link(client, server_id=301):
    return client.post("/console_link", json={"server_id": server_id})


def page_of(client, url: str):
    return client.get(url.split("localhost", 1)[1])


def test_link_is_absolute_single_use_and_expires(signed_in, owner, sold, proxmox):
    sold(owner, 301)
    response = link(signed_in)
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "success"
    assert re.fullmatch(r"http://localhost/vnc/[\w-]{40,}", body["url"])
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(seconds=55) < expires - datetime.now(timezone.utc) <= timedelta(seconds=60)
    token = body["url"].rsplit("/", 1)[1]
    assert 0 < redis_client.ttl(console._key("link", token)) <= 60
    first = page_of(signed_in, body["url"])
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    assert page_of(signed_in, body["url"]).status_code == 404
    # The page holds only the one-time VNC ticket: no Proxmox credential of any kind.
    html = first.get_data(as_text=True)
    _, password = session_of(html)
    assert password.startswith("PVEVNC:")
    for secret in (proxmox.token, proxmox.token.rsplit("=", 1)[1], "PVEAPIToken", "PVEAuthCookie", "simulator"):
        assert secret not in html
    assert "novnc/core/rfb.js" in html


def test_link_refused_for_foreign_suspended_and_signed_out(client, signed_in, owner, sold, proxmox):
    sold(make_user("other@example.com"), 302)
    assert link(signed_in, 302).status_code == 404
    assert signed_in.post("/console_link", json={"server_id": "302"}).status_code == 400
    signed_in.delete_cookie("session_id")
    assert link(signed_in).status_code == 401


def test_relay_carries_the_rfb_handshake_both_ways(signed_in, owner, sold, proxmox, live):
    sold(owner, 301)
    before = samples(signed_in.get("/metrics").get_data(as_text=True))
    html = page_of(signed_in, link(signed_in).get_json()["url"]).get_data(as_text=True)
    path, password = session_of(html)
    url = "ws" + live[len("http"):] + path
    assert path.startswith("/vnc/"), path
    with connect(url, subprotocols=["binary"], open_timeout=10) as browser:
        desktop = rfb.handshake(browser, password)
        assert (desktop.width, desktop.height) == (480, 200)
        assert desktop.name == b"VM 301 (301-" + owner.username.encode() + b")"
        assert rfb.full_update(browser, desktop)[:4] == b"\x00\x00\x00\x01"
    # Proxmox was asked with the app's own credentials for exactly this proxy's port and ticket.
    call = proxmox.calls_to("GET", r"/qemu/301/vncwebsocket$")[-1]
    assert call.params["vncticket"] == password and call.params["port"]
    assert proxmox.consoles_served == 1
    # /metrics counts the upgrade as the 101 it was, not as a failure.
    after = samples(signed_in.get("/metrics").get_data(as_text=True))
    assert requests_of(after, "vnc.console_socket", "101") - requests_of(before, "vnc.console_socket", "101") == 1
    assert requests_of(after, "vnc.console_socket", "500") == 0
    # The page's WebSocket session is single-use.
    with pytest.raises((InvalidStatus, InvalidMessage)):  # werkzeug answers the refusal as HTTP/1.0 404
        connect(url, open_timeout=10)


def test_the_site_can_call_console_link_from_its_origin(signed_in, owner, sold, proxmox):
    """CORS as on every classic call: /console_link is no console page (it only starts like one)."""
    sold(owner, 301)
    site = {"Origin": TEST_SITE_ORIGIN}
    preflight = signed_in.options("/console_link", headers={**site, "Access-Control-Request-Method": "POST",
                                                            "Access-Control-Request-Headers": "content-type"})
    assert preflight.headers["Access-Control-Allow-Origin"] == TEST_SITE_ORIGIN
    answer = signed_in.post("/console_link", json={"server_id": 301}, headers=site)
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == TEST_SITE_ORIGIN
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    page = signed_in.get("/console/login", headers=site)  # the staff console stays same-origin only
    assert "Access-Control-Allow-Origin" not in page.headers


def test_no_console_link_while_the_server_is_reinstalled(signed_in, owner, sold, proxmox):
    """A reinstall destroys and clones the VM: a console opened meanwhile would show nothing of it."""
    server = sold(owner, 301)
    server.lifecycle_state = "reinstalling"
    db.session.commit()
    refused = link(signed_in)
    assert (refused.status_code, refused.get_json()["message"]) == (409, "server busy")
