"""A VNC client's side of RFB 3.8 over a WebSocket, as noVNC speaks it: the tests and the console bench use it."""
import re
import struct
from dataclasses import dataclass

from oxnack_admin.simulator.proxmox_console import vnc_response


@dataclass(frozen=True)
class Desktop:
    width: int
    height: int
    name: bytes


def session_of(html: str) -> tuple[str, str]:
    """(WebSocket path, RFB password) from the noVNC console page."""
    path = re.search(r'location\.host \+ "([^"]+)"', html).group(1)
    password = re.search(r'password: "([^"]+)"', html).group(1)
    return path, password


def handshake(browser, password: str, timeout: float = 10) -> Desktop:
    """Version exchange, VNC authentication with the ticket, ClientInit; the ServerInit's screen."""
    assert browser.recv(timeout=timeout) == b"RFB 003.008\n"
    browser.send(b"RFB 003.008\n")
    assert browser.recv(timeout=timeout) == b"\x01\x02"  # VNC authentication only
    browser.send(b"\x02")
    challenge = browser.recv(timeout=timeout)
    browser.send(vnc_response(password, challenge))  # the ticket is the RFB password
    assert browser.recv(timeout=timeout) == b"\x00\x00\x00\x00"
    browser.send(b"\x01")
    init = browser.recv(timeout=timeout)
    width, height = struct.unpack("!HH", init[:4])
    name_length = struct.unpack("!I", init[20:24])[0]
    return Desktop(width, height, init[24:24 + name_length])


def request_update(browser, desktop: Desktop, incremental: bool = False) -> None:
    browser.send(struct.pack("!BBHHHH", 3, int(incremental), 0, 0, desktop.width, desktop.height))


def full_update(browser, desktop: Desktop, timeout: float = 10) -> bytes:
    """Ask for the whole screen and read one raw-encoded framebuffer update of it (32 bpp)."""
    request_update(browser, desktop)
    update = b""
    while len(update) < 4 + 12 + desktop.width * desktop.height * 4:
        update += browser.recv(timeout=timeout)
    return update
