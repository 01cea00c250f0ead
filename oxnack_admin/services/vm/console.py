"""The browser console: single-use links to a noVNC page, and the page's single-use WebSocket session.

A link (CONSOLE_LINK_SECONDS) opens the page once. Opening it asks Proxmox for a VNC proxy
(`vncproxy`, with the app's own credentials) and records a session the page's WebSocket must
claim within CONSOLE_SESSION_SECONDS (Proxmox wants `vncwebsocket` within ~10 s). The browser
only ever gets the one-time VNC ticket, as the RFB password; the relay (web/console_relay.py)
opens `vncwebsocket` with our credentials. Tokens are kept in Redis by their hash.
"""
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import Server
from oxnack_admin.services.fleet import hypervisor, states


@dataclass(frozen=True)
class Link:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    """What the page needs (and no more): its WebSocket token, the RFB password, the VM."""

    token: str
    password: str
    server_id: int


def _key(kind: str, token: str) -> str:
    return f"oxnack:console-{kind}:{hashlib.sha256(token.encode()).hexdigest()}"


def create_link(server: Server) -> Link:
    """A single-use link to this VM's console page."""
    seconds = int(current_app.config["CONSOLE_LINK_SECONDS"])
    token = secrets.token_urlsafe(32)
    redis_client.set(_key("link", token), json.dumps({"server_id": server.id}), ex=seconds)
    return Link(token, datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=seconds))


def open_link(token: str) -> Session | None:
    """Use the link (once): a Proxmox VNC proxy and the page's session; None when used, expired or unusable.

    Raises RemoteError when Proxmox refuses the VNC proxy (a stopped VM, say).
    """
    raw = redis_client.getdel(_key("link", token)) if token else None
    if raw is None:
        return None
    server = db.session.get(Server, json.loads(raw)["server_id"])
    if server is None or states.state_of(server) != states.ACTIVE:
        return None
    proxy = hypervisor.proxmox_client(server.node).vnc_proxy(server.id)
    session = secrets.token_urlsafe(32)
    redis_client.set(_key("session", session), json.dumps({"server_id": server.id, "node": server.node, **proxy}),
                     ex=max(int(current_app.config["CONSOLE_SESSION_SECONDS"]), 1))
    return Session(session, proxy["ticket"], server.id)


def claim_session(token: str) -> dict | None:
    """The page's WebSocket session (once): {"server_id", "node", "port", "ticket"}, or None."""
    raw = redis_client.getdel(_key("session", token)) if token else None
    return json.loads(raw) if raw is not None else None


def upstream_of(session: dict):
    """Where the relay connects: Proxmox vncwebsocket with the app's credentials (a VncTarget)."""
    client = hypervisor.proxmox_client(session["node"])
    return client.vnc_websocket(session["server_id"], session["port"], session["ticket"])
