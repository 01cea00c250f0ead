"""The signed cookie session belongs to the staff console; nothing else reads it."""
from flask.sessions import SecureCookieSessionInterface

CONSOLE_PREFIX = "/console"


class ConsoleOnlySessionInterface(SecureCookieSessionInterface):
    """Skip unsigning a cookie on the classic JSON endpoints, the app's hot path."""

    def open_session(self, app, request):
        if not request.path.startswith(CONSOLE_PREFIX):
            return self.session_class()
        return super().open_session(app, request)
