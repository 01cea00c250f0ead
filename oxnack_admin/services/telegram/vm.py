"""A server's VM in the bot: a short usage summary on its card (services/vm/usage) and Reinstall with a confirm
(OS → Confirm → the same service as POST /reinstall_server).

callback_data: `s:<id>:ri` (choose the OS), `s:<id>:ro:<index>` (that OS), `s:<id>:rc:<nonce>` (Confirm; the nonce
holds the OS, so a double press or an old Confirm starts nothing twice).
"""
import logging

from flask import current_app

from oxnack_admin.clients.errors import RemoteError
from oxnack_admin.extensions import db
from oxnack_admin.models import Server
from oxnack_admin.services.fleet import states
from oxnack_admin.services.lifecycle import renewal
from oxnack_admin.services.provisioning import reinstall
from oxnack_admin.services.telegram import dialog
from oxnack_admin.services.telegram.context import Ctx
from oxnack_admin.services.vm import usage

log = logging.getLogger(__name__)

GB = 1024 ** 3


def usage_line(ctx: Ctx, server: Server) -> str:
    """The last hour's averages (CPU, memory, network) of an active server; empty otherwise or when Proxmox is out."""
    if states.state_of(server) != states.ACTIVE:
        return ""
    try:
        points = usage.usage(server, "hour")
    except RemoteError as exc:
        log.info("usage of server %s unavailable: %s", server.id, exc.message)
        return "\n" + ctx.say("usage_unavailable")
    cpu, mem, maxmem = _mean(points, "cpu"), _mean(points, "mem"), _mean(points, "maxmem")
    netin, netout = _mean(points, "netin"), _mean(points, "netout")
    if cpu is None and mem is None:
        return ""
    return "\n" + ctx.say("usage", cpu=f"{(cpu or 0) * 100:.0f}", mem=f"{(mem or 0) / GB:.1f}",
                          maxmem=f"{(maxmem or 0) / GB:.0f}", netin=_rate(netin), netout=_rate(netout))


def _mean(points: list[dict], field: str) -> float | None:
    values = [point[field] for point in points if field in point]
    return sum(values) / len(values) if values else None


def _rate(bytes_per_second: float | None) -> str:
    return f"{(bytes_per_second or 0) / 1024:.0f} KB/s"


def systems() -> list[str]:
    return sorted(current_app.config["OS_TEMPLATES"])


def press(ctx: Ctx, server: Server | None, action: str, value: str) -> None:
    """`ri`, `ro:<index>` or `rc:<nonce>` on the customer's server; anything no longer valid says why."""
    if not renewal.owned_by(server, ctx.user):
        return _said(ctx, ctx.say("stale", reason="this server is not yours any more"))
    if action == "ri":
        ctx.answer()
        return ctx.reply(ctx.say("reinstall_os", id=server.id),
                         [[{"text": name, "callback_data": f"s:{server.id}:ro:{index}"}]
                          for index, name in enumerate(systems()[:20])] + [[ctx.button("cancel", "x")]])
    if action == "ro":
        names = systems()
        if not value.isdigit() or int(value) >= len(names):
            return _said(ctx, ctx.say("stale", reason="this system is no longer offered"))
        nonce = dialog.issue_nonce(ctx.chat_id, f"reinstall:{server.id}", names[int(value)])
        ctx.answer()
        return ctx.reply(ctx.say("reinstall_confirm", id=server.id, os=names[int(value)]),
                         [[ctx.button("confirm", f"s:{server.id}:rc:{nonce}"), ctx.button("cancel", "x")]])
    if action == "rc":
        return _confirm(ctx, server.id, value)
    _said(ctx, ctx.say("stale", reason="unknown button"))


def _confirm(ctx: Ctx, server_id: int, nonce: str) -> None:
    os_name = dialog.consume_nonce(ctx.chat_id, f"reinstall:{server_id}", nonce)
    if os_name is None:
        return _said(ctx, ctx.say("stale", reason="this reinstall was already started or cancelled"))
    try:
        reinstall.request_reinstall(server_id, ctx.user, os_name)
    except reinstall.ReinstallRefused as refused:
        db.session.rollback()
        key = "stale" if refused.status == 404 else "refused"
        return _said(ctx, ctx.say(key, reason="this server is not yours any more" if refused.status == 404
                                  else refused.message))
    db.session.commit()
    _said(ctx, ctx.say("reinstall_started", id=server_id, os=os_name))


def _said(ctx: Ctx, text: str) -> None:
    ctx.answer(text)
    ctx.reply(text)
