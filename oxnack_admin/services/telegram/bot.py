"""The bot's front desk: an update in, the right handler out. Every action calls the same services
as the classic endpoints; their refusals come back as exceptions and become the bot's texts.

callback_data (at most 64 bytes, ASCII): `lk`, `nw`, `bal`, `srv`, `s:<id>:<st|sp|rs|rn|a1|a0>`,
`o:...` (order), `t:...` (top-up), `p:...` (proxies), `l:<lang>`, `n:<channel>`, `x` (cancel).
"""
import logging

from oxnack_admin.extensions import db
from oxnack_admin.models.enums import NoticeChannel
from oxnack_admin.services.support import inbox as support_inbox
from oxnack_admin.services.telegram import chats, customer, dialog, shop, topup
from oxnack_admin.services.telegram.context import Ctx
from oxnack_admin.services.telegram.texts import LANGUAGES, Raw, button

log = logging.getLogger(__name__)

NEEDS_CUSTOMER = {"balance", "servers", "order", "topup", "proxies", "myproxies", "notify", "unlink"}


def dispatch(update: dict) -> None:
    """Handle one update (a message or a callback query); anything else is ignored."""
    if isinstance(update.get("message"), dict):
        _on_message(update["message"])
    elif isinstance(update.get("callback_query"), dict):
        _on_callback(update["callback_query"])


def _context(sender: dict, chat_id: int, callback_id: str | None = None) -> Ctx:
    chat = chats.touch(chat_id, sender)
    user = chats.customer_of(sender["id"])
    if user is not None:
        chats.refresh_username(user, sender.get("username"))
    db.session.commit()
    return Ctx(chat_id=chat_id, sender=sender, chat=chat, user=user, callback_id=callback_id)


def _on_message(message: dict) -> None:
    sender, chat = message.get("from"), message.get("chat")
    if not isinstance(sender, dict) or not isinstance(chat, dict) or not isinstance(sender.get("id"), int):
        return
    if chat.get("type", "private") != "private":
        return  # the bot serves customers in private chats only
    ctx = _context(sender, chat["id"])
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    if support_inbox.has_file(message):
        return support_inbox.take(ctx, message)
    if text.startswith("/"):
        command, _, argument = text[1:].partition(" ")
        _command(ctx, command.split("@")[0].lower(), argument.strip())
        return
    state = dialog.get(ctx.chat_id)
    step = state.get("step")
    if step == "link_mail":
        customer.link_mail(ctx, text)
    elif step == "link_code":
        customer.link_code(ctx, state, text)
    elif step == "order_promo" and ctx.user:
        shop.order_promo(ctx, text)
    elif step == "topup" and ctx.user:
        topup.typed_amount(ctx, state, text)
    else:
        support_inbox.take(ctx, message)  # free text outside a dialogue: a support ticket


def _command(ctx: Ctx, command: str, argument: str) -> None:
    if command in NEEDS_CUSTOMER and ctx.user is None:
        return _offer_account(ctx, "need_account")
    dialog.end(ctx.chat_id)
    handlers = {
        "start": lambda: customer.menu(ctx) if ctx.user else _offer_account(ctx, "welcome_new"),
        "help": lambda: customer.menu(ctx) if ctx.user else _offer_account(ctx, "welcome_new"),
        "link": lambda: customer.ask_mail(ctx), "new": lambda: customer.new_account(ctx),
        "unlink": lambda: customer.unlink(ctx), "balance": lambda: customer.balance(ctx),
        "servers": lambda: customer.servers(ctx), "order": lambda: shop.order_start(ctx),
        "topup": lambda: topup.start(ctx), "proxies": lambda: shop.proxies_start(ctx, argument),
        "myproxies": lambda: shop.my_proxies(ctx), "lang": lambda: _ask_language(ctx),
        "notify": lambda: _ask_notify(ctx), "support": lambda: support_inbox.command(ctx, argument),
        "stop": lambda: support_inbox.stop(ctx), "subscribe": lambda: support_inbox.subscribe(ctx),
        "cancel": lambda: ctx.reply(ctx.say("cancelled")),
    }
    handler = handlers.get(command)
    if handler is None:
        return ctx.reply(ctx.say("unknown"))
    handler()


def _on_callback(query: dict) -> None:
    sender, message = query.get("from"), query.get("message")
    if not isinstance(sender, dict) or not isinstance(sender.get("id"), int):
        return
    chat_id = (message or {}).get("chat", {}).get("id", sender["id"]) if isinstance(message, dict) else sender["id"]
    ctx = _context(sender, chat_id, callback_id=str(query.get("id")))
    try:
        _press(ctx, str(query.get("data") or ""))
    finally:
        ctx.answer()  # every callback query is answered, whatever happened


def _press(ctx: Ctx, data: str) -> None:
    head, _, rest = data.partition(":")
    if head == "lk":
        return customer.ask_mail(ctx)
    if head == "nw":
        return customer.new_account(ctx)
    if head == "l" and rest in LANGUAGES:
        ctx.chat.language = rest
        db.session.commit()
        ctx.answer(ctx.say("lang_set"))
        return ctx.reply(ctx.say("lang_set"))
    if head == "x":
        dialog.end(ctx.chat_id)
        ctx.answer(ctx.say("cancelled"))
        return ctx.reply(ctx.say("cancelled"))
    if ctx.user is None:
        ctx.answer(ctx.say("need_account"))
        return _offer_account(ctx, "need_account")
    if head == "n" and rest in tuple(NoticeChannel):
        ctx.chat.notify = rest
        db.session.commit()
        text = ctx.say("notify_set", current=button(ctx.lang, rest))
        ctx.answer(text)
        return ctx.reply(text)
    handlers = {"bal": lambda: customer.balance(ctx), "srv": lambda: customer.servers(ctx),
                "s": lambda: customer.server_action(ctx, rest), "o": lambda: shop.order_press(ctx, rest),
                "t": lambda: topup.press(ctx, rest), "p": lambda: shop.proxies_press(ctx, rest)}
    handler = handlers.get(head)
    if handler is None:
        ctx.answer(ctx.say("stale", reason="unknown button"))
        return
    handler()


def _offer_account(ctx: Ctx, key: str) -> None:
    ctx.reply(ctx.say(key), [[ctx.button("link", "lk"), ctx.button("new", "nw")]])


def _ask_language(ctx: Ctx) -> None:
    ctx.reply(ctx.say("lang_ask"), [[{"text": "Русский", "callback_data": "l:ru"},
                                     {"text": "English", "callback_data": "l:en"}]])


def _ask_notify(ctx: Ctx) -> None:
    current = Raw(button(ctx.lang, ctx.chat.notify or "both"))
    ctx.reply(ctx.say("notify_ask", current=current),
              [[ctx.button(channel, f"n:{channel}") for channel in ("mail", "telegram", "both")]])
