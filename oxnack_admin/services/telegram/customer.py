"""The customer's own things in the bot: account link, balance, servers (power, renew, auto-renew)."""
from flask import current_app
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import Server
from oxnack_admin.services.accounts.customers import is_valid_email
from oxnack_admin.services.fleet import power
from oxnack_admin.services.lifecycle import renewal
from oxnack_admin.services.lifecycle.history import shown_date
from oxnack_admin.services.money import ledger
from oxnack_admin.services.orders.customer_servers import service_view
from oxnack_admin.services.telegram import chats, dialog, vm
from oxnack_admin.services.telegram.context import Ctx
from oxnack_admin.services.telegram.texts import button, word

POWER = {"st": "start", "sp": "stop", "rs": "restart"}
MAX_SERVERS_SHOWN = 10  # one message: its buttons stay readable


def money(amount) -> str:
    return str(ledger.as_json_number(amount))


def menu(ctx: Ctx) -> None:
    user = ctx.user
    ctx.reply(ctx.say("menu", name=user.tg_username or user.mail or user.username, balance=money(user.balance or 0)),
              [[ctx.button("servers", "srv"), ctx.button("topup", "t:ask")]])


def balance(ctx: Ctx) -> None:
    ctx.reply(ctx.say("balance", balance=money(ledger.balance_of(ctx.user.id))), [[ctx.button("topup", "t:ask")]])


def servers(ctx: Ctx) -> None:
    user = ctx.user
    rows = db.session.scalars(select(Server).where(Server.username == user.username, Server.busy.is_(True))
                              .order_by(Server.id).limit(MAX_SERVERS_SHOWN)).all() if user.username else []
    if not rows:
        return ctx.reply(ctx.say("no_servers"))
    for server in rows:
        view = service_view(server, user)
        text = ctx.say("server_line", id=server.id, ip=server.first_ip or "", state=view.get("status") or "",
                       power=server.status or "", date_stop=view.get("date_stop") or "—",
                       auto=word(ctx.lang, "on" if server.auto_renew else "off"),
                       price=money(renewal.renewal_price(server))) + vm.usage_line(ctx, server)
        ctx.reply(text, [[ctx.button("start", f"s:{server.id}:st"), ctx.button("stop", f"s:{server.id}:sp"),
                          ctx.button("restart", f"s:{server.id}:rs"), ctx.button("reinstall", f"s:{server.id}:ri")],
                         [ctx.button("renew", f"s:{server.id}:rn"),
                          ctx.button("auto_renew", f"s:{server.id}:{'a0' if server.auto_renew else 'a1'}",
                                     f"{button(ctx.lang, 'auto_renew')}: {word(ctx.lang, 'on' if server.auto_renew else 'off')}")]])


def server_action(ctx: Ctx, rest: str) -> None:
    """`<id>:<action>` from a server's buttons; a stale one (not theirs any more, refused now) says why."""
    server_id, _, action = rest.partition(":")
    if not server_id.isdigit():
        return ctx.answer(ctx.say("stale", reason="unknown server"))
    server_id = int(server_id)
    action, _, value = action.partition(":")
    if action in ("ri", "ro", "rc"):
        return vm.press(ctx, db.session.get(Server, server_id), action, value)
    try:
        if action in POWER:
            server = db.session.get(Server, server_id)
            if not renewal.owned_by(server, ctx.user):
                raise renewal.RenewalRefused("not found", 404)
            request = power.request_power_action(server, POWER[action])
            text = ctx.say("power_queued", id=server_id, action=POWER[action]) if request.job_id else \
                ctx.say("refused", reason=request.message)
        elif action == "rn":
            new_end = renewal.renew_for_customer(ctx.user, server_id)
            text = ctx.say("renewed", id=server_id, date_stop=shown_date(new_end))
        elif action in ("a0", "a1"):
            enabled = renewal.set_auto_renew(ctx.user, server_id, action == "a1")
            text = ctx.say("auto_renew", id=server_id, state=word(ctx.lang, "on" if enabled else "off"))
        else:
            return ctx.answer(ctx.say("stale", reason="unknown button"))
    except renewal.RenewalRefused as refused:
        text = ctx.say("stale" if refused.status == 404 else "refused",
                       reason="this server is not yours any more" if refused.status == 404 else refused.message)
    except power.PowerActionError as refused:
        text = ctx.say("refused", reason=refused.message)
    except ledger.InsufficientFunds:
        text = ctx.say("small_balance")
    db.session.rollback()
    ctx.answer(text)
    ctx.reply(text)


# --- who is who ----------------------------------------------------------------------------------

def ask_mail(ctx: Ctx) -> None:
    if ctx.user is not None:
        ctx.answer(ctx.say("already_customer"))
        return ctx.reply(ctx.say("already_customer"))
    dialog.start(ctx.chat_id, "link_mail")
    ctx.reply(ctx.say("ask_mail"), [[ctx.button("cancel", "x")]])


def link_mail(ctx: Ctx, address: str) -> None:
    address = address.strip()
    if not is_valid_email(address):
        return ctx.reply(ctx.say("no_such_mail"))
    try:
        user = chats.send_link_code(ctx.chat_id, address)
    except chats.LinkRefused as refused:
        db.session.rollback()
        return ctx.reply(ctx.say(refused.key))
    dialog.start(ctx.chat_id, "link_code", user_id=user.id)
    ctx.reply(ctx.say("code_sent", mail=address, minutes=current_app.config["CODE_TTL_SECONDS"] // 60), [[ctx.button("cancel", "x")]])


def link_code(ctx: Ctx, state: dict, code: str) -> None:
    try:
        user = chats.link_with_code(ctx.chat_id, int(state["user_id"]), code, ctx.username)
    except chats.LinkRefused as refused:
        if refused.key != "wrong_code":
            dialog.end(ctx.chat_id)
        return ctx.reply(ctx.say(refused.key))
    dialog.end(ctx.chat_id)
    ctx.user = user
    ctx.reply(ctx.say("linked"))
    menu(ctx)


def new_account(ctx: Ctx) -> None:
    try:
        ctx.user = chats.open_account(ctx.chat_id, ctx.username)
    except chats.LinkRefused as refused:
        ctx.answer(ctx.say(refused.key))
        return ctx.reply(ctx.say(refused.key))
    ctx.answer(ctx.say("created"))
    ctx.reply(ctx.say("created"))


def unlink(ctx: Ctx) -> None:
    try:
        chats.unlink(ctx.user)
    except chats.LinkRefused as refused:
        return ctx.reply(ctx.say(refused.key))
    ctx.user = None
    ctx.reply(ctx.say("unlinked"))

