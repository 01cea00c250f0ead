"""The mail's unsubscribe link: GET asks (mail scanners open links), POST ends newsletters for that customer.

The signed token in the URL is the authority, so the form needs no CSRF token.
"""
from flask import Blueprint, render_template

from ...extensions import csrf
from oxnack_admin.services.support import subscribers

bp = Blueprint("newsletter_pages", __name__, url_prefix="/newsletters")
csrf.exempt(bp)


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    valid = subscribers.user_of_token(token) is not None
    return render_template("newsletters/unsubscribe.html", valid=valid, done=False), 200 if valid else 404


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    user = subscribers.user_of_token(token)
    if user is None:
        return render_template("newsletters/unsubscribe.html", valid=False, done=False), 404
    subscribers.set_newsletters(user.tg_id, user, False)
    return render_template("newsletters/unsubscribe.html", valid=True, done=True)
