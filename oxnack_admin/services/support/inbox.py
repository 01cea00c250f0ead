"""The bot's side of support and newsletters: /support, free text, photos and documents, /stop and /subscribe."""
from oxnack_admin.services.support import subscribers, tickets
from oxnack_admin.services.telegram.context import Ctx


def has_file(message: dict) -> bool:
    """A photo or a document goes to support whatever dialogue the chat is in."""
    return bool(message.get("photo")) or isinstance(message.get("document"), dict)


def take(ctx: Ctx, message: dict) -> None:
    """The customer's message opens a ticket or joins their open one; they are told which."""
    words, file_id, file_kind, file_name = tickets.parse_message(message)
    if not words.strip() and not file_id:
        return ctx.reply(ctx.say("support_ask"))
    ticket, opened = tickets.take_customer_message(ctx.chat_id, ctx.user, ctx.sender, ctx.lang, words,
                                                   file_id, file_kind, file_name)
    ctx.reply(ctx.say("support_opened" if opened else "support_added", id=ticket.id))


def command(ctx: Ctx, argument: str) -> None:
    """`/support` asks for the question; `/support <words>` files them at once."""
    if argument.strip():
        return take(ctx, {"text": argument.strip()})
    ctx.reply(ctx.say("support_ask"))


def stop(ctx: Ctx) -> None:
    subscribers.set_newsletters(ctx.chat_id, ctx.user, False)
    ctx.reply(ctx.say("newsletters_stopped"))


def subscribe(ctx: Ctx) -> None:
    subscribers.set_newsletters(ctx.chat_id, ctx.user, True)
    ctx.reply(ctx.say("newsletters_back"))
