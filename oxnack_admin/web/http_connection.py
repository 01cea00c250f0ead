"""Close a keep-alive connection whose request body was answered before it was read.

A 413 for a 10 MB body, or a 401 sent before the view looked at the body, leaves the unread
bytes on the socket: a server that kept the connection would read them as the next request
(or give up draining them and hang up), and the client's next request on that connection is
lost. So such an answer says `Connection: close` and the server really closes.

Werkzeug's server closes every connection and says so itself. Gunicorn drops hop-by-hop headers an app sets,
so its `pre_request` hook (gunicorn.conf.py) hands us its request here and we mark it to close.
"""
import threading

_gunicorn = threading.local()  # the request a gunicorn worker thread is serving now


def remember_gunicorn_request(request) -> None:
    """gunicorn's pre_request hook: the same thread then runs the app for this request."""
    _gunicorn.request = request


class _CountingInput:
    """wsgi.input that remembers how much was read and whether the end was reached."""

    def __init__(self, stream):
        self._stream = stream
        self.consumed = 0
        self.at_end = False

    def _seen(self, data: bytes) -> bytes:
        self.consumed += len(data)
        if not data:
            self.at_end = True
        return data

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            self.at_end = True
            return self._seen(self._stream.read())
        return self._seen(self._stream.read(size))

    def readinto(self, buffer) -> int:
        # Werkzeug's LimitedStream reads through readinto when the stream has one (io.BytesIO does).
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        return self._seen(self._stream.readline(size) if size and size > 0 else self._stream.readline())

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines = self._stream.readlines(hint) if hint and hint > 0 else self._stream.readlines()
        for line in lines:
            self._seen(line)
        if not hint or hint <= 0:
            self.at_end = True
        return lines

    def __iter__(self):
        return iter(self.readline, b"")

    def __getattr__(self, name):
        return getattr(self._stream, name)


class CloseUnreadBody:
    """WSGI middleware: `Connection: close` on any answer that left request body bytes unread."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        counted = None
        length = _content_length(environ)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if (length or chunked) and "wsgi.input" in environ:
            counted = environ["wsgi.input"] = _CountingInput(environ["wsgi.input"])
        gunicorn_request = getattr(_gunicorn, "request", None)
        _gunicorn.request = None
        says_close_itself = "werkzeug.socket" in environ  # its dev server adds Connection: close to every answer

        def start(status, headers, exc_info=None):
            if counted is not None and not _fully_read(counted, length):
                headers = [(name, value) for name, value in headers if name.lower() != "connection"]
                if not says_close_itself:
                    headers.append(("Connection", "close"))
                if gunicorn_request is not None:
                    gunicorn_request.must_close = True
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, start)


def _content_length(environ) -> int:
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _fully_read(counted: _CountingInput, length: int) -> bool:
    return counted.at_end or (length > 0 and counted.consumed >= length)
