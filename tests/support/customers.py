"""Signed-in customers for tests: a real session row and the `session_id` cookie the site would hold."""
from oxnack_admin.extensions import db
from oxnack_admin.models import User
from oxnack_admin.services.accounts import sessions

COOKIE = sessions.COOKIE_NAME


def sign_in(user: User) -> str:
    """Open a session for `user` (inside an app context) and return its cookie token."""
    token = sessions.start_session(user, ip="127.0.0.1", user_agent="pytest")
    db.session.commit()
    return token


def login_cookie(client, user: User) -> str:
    """Sign `user` in on this Flask test client (its cookie jar now holds session_id); returns the token."""
    token = sign_in(user)
    client.set_cookie(COOKIE, token)
    return token
