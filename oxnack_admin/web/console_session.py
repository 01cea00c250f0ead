"""The signed cookie session belongs to the staff console; nothing else reads it."""
from flask.sessions import SecureCookieSessionInterface

CONSOLE_PREFIX = "/console"


class ConsoleOnlySessionInterface(SecureCookieSessionInterface):
    """Skip unsigning a cookie on the classic JSON endpoints, the app's hot path."""

    def open_session(self, app, request_):
        if not request_.path.startswith(CONSOLE_PREFIX):
            return self.session_class()
        return super().open_session(app, request_)

    def save_session(self, app, session, response):
        # Flask would end here too, after reading seven cookie settings: an untouched empty session.
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)
