"""Newsletters: support staff read them; admins and owners compose, test, send, pause, resume and cancel."""
from flask import abort, request, url_for
from flask_login import current_user

from ...extensions import db
from ...models import Newsletter
from ...models.enums import StaffRole
from oxnack_admin.services.support import audience, newsletters
from . import bp
from .access import role_required
from .rendering import action_refused, action_result, navigate, render, wants_fragment

SHOW_PAGE, PROGRESS = "console/newsletters/show.html", "console/newsletters/_progress.html"


@bp.get("/newsletters")
@role_required(StaffRole.SUPPORT)
def newsletters_list():
    return render("console/newsletters/page.html", "console/newsletters/_list.html", **_compose_context({}))


@bp.post("/newsletters/preview")
@role_required(StaffRole.ADMIN)
def newsletters_preview():
    """The draft as Telegram will show it, what is wrong with it, and how many it reaches (htmx, as staff type)."""
    return render("console/newsletters/_preview.html", "console/newsletters/_preview.html", **_preview(request.form))


@bp.post("/newsletters")
@role_required(StaffRole.ADMIN)
def newsletters_create():
    form = request.form
    try:
        created = newsletters.create(current_user, form.get("title", ""), form.get("body", ""),
                                     form.get("audience", ""), form.get("language") or None, form.get("channel", ""))
    except newsletters.NewsletterError:
        db.session.rollback()
        return render("console/newsletters/page.html", "console/newsletters/_compose.html", http_status=422,
                      **_compose_context(form))
    return navigate("Draft saved: check the preview, send yourself a test, then send.",
                    url_for("console.newsletters_show", newsletter_id=created.id))


@bp.get("/newsletters/<int:newsletter_id>")
@role_required(StaffRole.SUPPORT)
def newsletters_show(newsletter_id: int):
    newsletter = _newsletter_or_404(newsletter_id)
    state = request.args.get("state") or None
    return render(SHOW_PAGE, "console/newsletters/_show.html", newsletter=newsletter, progress=newsletters.progress(newsletter),
                  recipients=newsletters.recipients(newsletter, state), shown_state=state,
                  count=audience.count(newsletter.audience, newsletter.language, newsletter.channel)
                  if newsletter.state == "draft" else None)


@bp.get("/newsletters/<int:newsletter_id>/progress")
@role_required(StaffRole.SUPPORT)
def newsletters_progress(newsletter_id: int):
    if not wants_fragment():
        return newsletters_show(newsletter_id)  # asked for as a page: the newsletter's page
    newsletter = _newsletter_or_404(newsletter_id)
    return render(PROGRESS, PROGRESS, progress=newsletters.progress(newsletter))


@bp.post("/newsletters/<int:newsletter_id>/test")
@role_required(StaffRole.ADMIN)
def newsletters_test(newsletter_id: int):
    reached = newsletters.send_test(_newsletter_or_404(newsletter_id), current_user)
    return action_result("Test sent: " + (", ".join(reached) or "you have neither mail nor a chat id"), None,
                         url_for("console.newsletters_show", newsletter_id=newsletter_id))


@bp.post("/newsletters/<int:newsletter_id>/<any(start, pause, resume, cancel):action>")
@role_required(StaffRole.ADMIN)
def newsletters_act(newsletter_id: int, action: str):
    newsletter = _newsletter_or_404(newsletter_id)
    back_to = url_for("console.newsletters_show", newsletter_id=newsletter.id)
    try:
        result = getattr(newsletters, action)(newsletter, current_user)
    except newsletters.NewsletterError as error:
        db.session.rollback()
        return action_refused(str(error), 409, back_to)
    message = {"start": f"Sending to {result} recipient(s).", "pause": "Paused.", "resume": "Resumed.",
               "cancel": "Cancelled: whoever was not reached yet is skipped."}[action]
    db.session.refresh(newsletter)
    return action_result(message, PROGRESS, back_to, progress=newsletters.progress(newsletter))


@bp.post("/newsletters/my-chat")
@role_required(StaffRole.SUPPORT)
def newsletters_my_chat():
    """Each staff member keeps their own Telegram chat id, where newsletter tests go."""
    value = request.form.get("telegram_chat_id", "").strip()
    if value and not value.lstrip("-").isdigit():
        return action_refused("A chat id is a number (ask @userinfobot for yours).", 422, url_for("console.newsletters_list"))
    current_user.telegram_chat_id = int(value) if value else None
    db.session.commit()
    return action_result("Your Telegram chat id is saved." if value else "Your Telegram chat id is removed.", None,
                         url_for("console.newsletters_list"))


def _compose_context(form) -> dict:
    return {"items": newsletters.listing(), "audiences": audience.AUDIENCES, "form": form,
            **(_preview(form) if form else {"errors": [], "count": None, "body": ""})}


def _preview(form) -> dict:
    name, language, channel = form.get("audience", "all"), form.get("language") or None, form.get("channel", "telegram")
    errors = newsletters.check(form.get("title", ""), form.get("body", ""), name, language, channel)
    count = audience.count(name, language, channel) if name in audience.AUDIENCES and channel in newsletters.CHANNELS \
        else None
    return {"errors": errors, "count": count, "body": form.get("body", "")}


def _newsletter_or_404(newsletter_id: int) -> Newsletter:
    return db.session.get(Newsletter, newsletter_id) or abort(404)
