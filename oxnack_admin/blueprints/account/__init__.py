"""Classic account calls (legacy port 7002): the signed-in customer's e-mail and balance, sign out everywhere.

Errors answer {"status": "error", "message": "<message>"}.
"""
from flask import jsonify

from ...extensions import db
from oxnack_admin.services.accounts import sessions
from oxnack_admin.services.money.ledger import as_json_number
from ...web.classic import ClassicBlueprint, clear_session_cookie, require_customer, status_error

bp = ClassicBlueprint("account", __name__, shape=status_error)


@bp.get("/get_mail")
def get_mail():
    return mail_answer(require_customer("Unrecognized"))


@bp.get("/get_balance")
def get_balance():
    return balance_answer(require_customer("unlogin"))


# The answers alone, for the views above and web/hot_reads.py.
def mail_answer(customer: sessions.Customer) -> dict:
    return {"status": "good", "message": "mail", "mail": customer.mail}


def balance_answer(customer: sessions.Customer) -> dict:
    return {"status": "good", "balance": as_json_number(customer.balance), "message": "balance got"}


@bp.post("/reset_cookie")
def reset_cookie():
    """The site's "log out from all devices"."""
    user = require_customer("unlogin")
    ended = sessions.end_all_sessions(user.id)
    db.session.commit()
    return clear_session_cookie(jsonify({"status": "good", "message": "all sessions ended", "ended": ended}))
