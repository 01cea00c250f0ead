"""WSGI middleware that counts every answer and its latency by endpoint, the hot reads included.

It wraps everything (the hot reads answer before Flask), so it adds no request hook and changes
no answer. The endpoint label is the route's endpoint name: Flask's from its request object, a
hot read's from the environ; anything unrouted is "unmatched" (a scan of random paths must not
make a new series per path).
"""
import time

from flask import Flask, request, request_started

from oxnack_admin.services.ops.metrics import LATENCY, REQUESTS
from oxnack_admin.web.websocket import TAKEN_OVER_KEY

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
ENDPOINT_KEY = "oxnack.endpoint"  # set by the hot reads, which answer without a Flask request


def remember_endpoint(sender: Flask, **extra) -> None:
    """Flask's endpoint, kept in the environ (Flask drops its request object from there at the end)."""
    request.environ[ENDPOINT_KEY] = request.endpoint or "unmatched"


class RequestMetrics:
    def __init__(self, app: Flask, next_app):
        self.next_app = next_app
        self.children = {}  # (endpoint, method, status) -> (latency child, counter child)
        # A signal, not a request hook: the hot reads turn themselves off for hooks they do not know.
        request_started.connect(remember_endpoint, app)

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        seen = []

        def counting_start_response(status, headers, exc_info=None):
            seen.append(status)
            return start_response(status, headers, exc_info)

        try:
            return self.next_app(environ, counting_start_response)
        finally:
            endpoint = environ.get(ENDPOINT_KEY, "unmatched")
            method = environ.get("REQUEST_METHOD", "")
            # Without a start_response the app failed, unless the console relay took the socket (its own 101).
            status = seen[-1][:3] if seen else ("101" if environ.get(TAKEN_OVER_KEY) else "500")
            key = (endpoint, method if method in METHODS else "other", status)
            children = self.children.get(key)
            if children is None:  # labels() validates and locks: done once per series, not per request
                children = self.children[key] = (LATENCY.labels(endpoint), REQUESTS.labels(*key))
            children[0].observe(time.perf_counter() - started)
            children[1].inc()

