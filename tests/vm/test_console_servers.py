"""The console relay under the real servers: gunicorn as production runs it (gunicorn.conf.py, sync and
gthread workers) and werkzeug's development server (`flask run`), over real sockets.

A console is opened as a customer opens it: POST /console_link, the page, then its WebSocket; the RFB
handshake goes both ways through the relay to the Proxmox simulator (version, VNC authentication with the
ticket, a framebuffer update, a key typed and shown). Meanwhile the one worker still answers other calls.
"""
import struct

import pytest
import requests
from websockets.exceptions import InvalidMessage, InvalidStatus
from websockets.sync.client import connect

from tests.support import rfb
from tests.support.browser import serve
from tests.support.customers import sign_in
from tests.support.gunicorn import free_port, run_gunicorn

WORKERS = {"gunicorn sync": ("--threads", "1"), "gunicorn gthread": ("--threads", "4")}


def proxmox_settings(proxmox) -> dict:
    return {"HYPERVISOR": "proxmox", "PROXMOX_URL": proxmox.url, "PROXMOX_NODE": proxmox.node,
            "PROXMOX_USER": proxmox.user, "PROXMOX_TOKEN": proxmox.token, "PROXMOX_PASSWORD": "",
            "PROXMOX_VERIFY_TLS": "0", "PROXMOX_TIMEOUT": "5"}


@pytest.fixture(params=[*WORKERS, "werkzeug"])
def base_url(request, app, database_url, redis_url, proxmox):
    """http://127.0.0.1:PORT of one real server of the app, talking to the test's Proxmox simulator."""
    if request.param == "werkzeug":
        with serve(app) as url:
            yield url.replace("localhost", "127.0.0.1")
        return
    port = free_port()
    # One worker process: an open console must leave it free for the next request.
    with run_gunicorn(database_url, redis_url, [port], gunicorn_args=("--workers", "1", *WORKERS[request.param]),
                      **proxmox_settings(proxmox)):
        yield f"http://127.0.0.1:{port}"


def open_console(base_url: str, cookie: str, server_id: int) -> tuple[str, str]:
    """(WebSocket URL, RFB password), through POST /console_link and the page, as a browser gets them."""
    http = requests.Session()
    http.cookies.set("session_id", cookie)
    answer = http.post(f"{base_url}/console_link", json={"server_id": server_id}, timeout=10)
    assert answer.status_code == 200, answer.text
    page = requests.get(base_url + "/vnc/" + answer.json()["url"].rsplit("/vnc/", 1)[1], timeout=10)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    path, password = rfb.session_of(page.text)
    return "ws" + base_url[len("http"):] + path, password


def test_the_relay_carries_rfb_both_ways_and_leaves_the_worker_free(base_url, owner, sold, proxmox):
    sold(owner, 301)
    url, password = open_console(base_url, sign_in(owner), 301)
    with connect(url, subprotocols=["binary"], open_timeout=10) as browser:
        assert browser.subprotocol == "binary"
        desktop = rfb.handshake(browser, password)
        assert desktop.name == b"VM 301 (301-" + owner.username.encode() + b")"
        update = rfb.full_update(browser, desktop)
        assert update[:4] == b"\x00\x00\x00\x01" and struct.unpack("!HHHH", update[4:12]) == (0, 0, 480, 200)
        assert len(set(update[16::4])) > 1  # text drawn on the background, not a blank screen
        # While this console stays open, the same single worker answers the classic endpoints.
        assert requests.get(f"{base_url}/countries", timeout=10).status_code == 200
        browser.send(struct.pack("!BBxxI", 4, 1, ord("x")))  # KeyEvent: "x" pressed
        rfb.request_update(browser, desktop, incremental=True)
        assert browser.recv(timeout=10)[:2] == b"\x00\x00"  # a FramebufferUpdate follows the key
    assert proxmox.consoles_served == 1
    call = proxmox.calls_to("GET", r"/qemu/301/vncwebsocket$")[-1]
    assert call.params["vncticket"] == password


def test_a_used_session_and_a_used_link_are_refused(base_url, owner, sold, proxmox):
    sold(owner, 301)
    cookie = sign_in(owner)
    url, password = open_console(base_url, cookie, 301)
    with connect(url, subprotocols=["binary"], open_timeout=10) as browser:
        rfb.handshake(browser, password)
    with pytest.raises((InvalidStatus, InvalidMessage)):
        connect(url, open_timeout=10)
    http = requests.Session()
    http.cookies.set("session_id", cookie)
    link = http.post(f"{base_url}/console_link", json={"server_id": 301}, timeout=10).json()["url"]
    page_url = base_url + "/vnc/" + link.rsplit("/vnc/", 1)[1]
    assert requests.get(page_url, timeout=10).status_code == 200
    again = requests.get(page_url, timeout=10)
    assert again.status_code == 404 and "used already or has expired" in again.text
