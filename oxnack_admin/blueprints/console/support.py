"""Support: the inbox of tickets from the bot, one ticket with its customer, and staff's answers (role support)."""
from urllib.parse import quote

from flask import Response, abort, make_response, render_template, request, stream_with_context, url_for
from flask_login import current_user

from ...clients.telegram import TelegramError
from ...extensions import db
from ...models import SupportTicket, User
from ...models.enums import StaffRole
from oxnack_admin.services.accounts import admin as accounts_admin
from oxnack_admin.services.support import tickets
from oxnack_admin.services.support.view import ticket_view
from oxnack_admin.services.telegram import outbox
from . import bp
from .access import role_required
from .rendering import action_refused, action_result, render, wants_fragment

SHOW_PAGE, SHOW_FRAGMENT = "console/support/show.html", "console/support/_ticket.html"


@bp.get("/support")
@role_required(StaffRole.SUPPORT)
def support():
    args = request.args
    found = tickets.search(args.get("state", "open"), args.get("assignee"), args.get("q"), current_user,
                           args.get("page", 1, type=int))
    return render("console/support/page.html", "console/support/_table.html", found=found,
                  state=args.get("state", "open"), assignee=args.get("assignee", ""), q=args.get("q", ""),
                  staff=tickets.staff_choices())


@bp.get("/support/unread")
@role_required(StaffRole.SUPPORT)
def support_unread():
    """The navigation's badge; 204 (nothing swapped) while the count the page shows is still right."""
    if not wants_fragment():
        return support()  # asked for as a page (a shared link): the inbox
    count = tickets.unread_count()
    if request.args.get("shown", type=int) == count:
        return Response(status=204)
    return render_template("console/support/_unread.html", unread=count)


@bp.get("/support/<int:ticket_id>")
@role_required(StaffRole.SUPPORT)
def support_show(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    tickets.mark_read(ticket)
    return render(SHOW_PAGE, SHOW_FRAGMENT, **_context(ticket))


@bp.post("/support/<int:ticket_id>/reply")
@role_required(StaffRole.SUPPORT)
def support_reply(ticket_id: int):
    return _act(ticket_id, lambda t: tickets.reply(t, current_user, request.form.get("text", "")),
                "Reply sent to the customer's Telegram.")


@bp.post("/support/<int:ticket_id>/note")
@role_required(StaffRole.SUPPORT)
def support_note(ticket_id: int):
    return _act(ticket_id, lambda t: tickets.note(t, current_user, request.form.get("text", "")),
                "Internal note added (not sent).")


@bp.post("/support/<int:ticket_id>/assign")
@role_required(StaffRole.SUPPORT)
def support_assign(ticket_id: int):
    assignee = request.form.get("assignee_id", "")
    return _act(ticket_id, lambda t: tickets.assign(t, current_user, int(assignee) if assignee.isdigit() else None),
                "Assignee changed.")


@bp.post("/support/<int:ticket_id>/close")
@role_required(StaffRole.SUPPORT)
def support_close(ticket_id: int):
    return _act(ticket_id, lambda t: tickets.set_closed(t, current_user, True), "Ticket closed.")


@bp.post("/support/<int:ticket_id>/reopen")
@role_required(StaffRole.SUPPORT)
def support_reopen(ticket_id: int):
    return _act(ticket_id, lambda t: tickets.set_closed(t, current_user, False), "Ticket reopened.")


@bp.get("/support/<int:ticket_id>/files/<int:entry_id>")
@role_required(StaffRole.SUPPORT)
def support_file(ticket_id: int, entry_id: int):
    """The customer's photo or document, fetched from Telegram by the app: the bot token never reaches the browser."""
    entry = tickets.entry_of(_ticket_or_404(ticket_id), entry_id) or abort(404)
    if not outbox.bot_enabled():
        return make_response("The Telegram bot is off: its files cannot be fetched.", 404,
                             {"Content-Type": "text/plain; charset=utf-8"})
    try:
        chunks, size, content_type, name = tickets.open_file(entry)
    except (TelegramError, tickets.TicketActionError) as error:
        return make_response(f"The file cannot be fetched from Telegram: {getattr(error, 'message', error)}", 502,
                             {"Content-Type": "text/plain; charset=utf-8"})
    disposition = "inline" if content_type.startswith("image/") else "attachment"
    response = Response(stream_with_context(chunks), content_type=content_type)
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{_quoted(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if size is not None:
        response.headers["Content-Length"] = str(size)
    return response


def _act(ticket_id: int, action, message: str):
    ticket = _ticket_or_404(ticket_id)
    back_to = url_for("console.support_show", ticket_id=ticket.id)
    try:
        action(ticket)
    except tickets.TicketActionError as error:
        db.session.rollback()
        return action_refused(str(error), 409, back_to)
    return action_result(message, SHOW_FRAGMENT, back_to, **_context(ticket))


def _context(ticket: SupportTicket) -> dict:
    db.session.refresh(ticket)
    user = db.session.get(User, ticket.user_id) if ticket.user_id else None
    return {"view": ticket_view(ticket), "account": accounts_admin.overview(user, 10, 10) if user else None,
            "staff": tickets.staff_choices(), "unread": tickets.unread_count()}


def _ticket_or_404(ticket_id: int) -> SupportTicket:
    return db.session.get(SupportTicket, ticket_id) or abort(404)


def _quoted(name: str) -> str:
    return quote(name, safe="")
