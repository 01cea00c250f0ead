"""JSON answers that depend on settings only (the rent page's catalogue and prices), encoded once.

They change only when a setting changes, so each is kept as encoded bytes per value of the
settings it reads (and of its arguments); a changed setting simply makes a new entry.
"""
from collections.abc import Callable, Hashable

from flask import Flask, Response, current_app

MAX_ENTRIES = 512  # per answer and app: a few settings values times the order shapes within the limits


def _frozen(value) -> Hashable:
    if isinstance(value, dict):
        return tuple((key, _frozen(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    return value


class SettingsAnswer:
    """`build(*args)` -> dict, answered as JSON exactly as a view returning that dict would be."""

    def __init__(self, name: str, settings: tuple[str, ...], build: Callable[..., dict]):
        self.name, self.settings, self.build = name, settings, build

    def response(self, *args: Hashable) -> Response:
        app = current_app._get_current_object()
        bodies, key = self._entries(app, args)
        body = bodies.get(key)
        if body is None:
            body = app.json.response(self.build(*args)).get_data()  # errors raised here are not kept
            if len(bodies) >= MAX_ENTRIES:
                bodies.clear()
            bodies[key] = body
        return app.response_class(body, mimetype=app.json.mimetype)

    def cached_body(self, app: Flask, *args: Hashable) -> bytes | None:
        """The encoded answer if a request already made it for `app`'s current settings, else None.

        Needs no app context: web/hot_reads.py answers from it before Flask's request cycle.
        """
        bodies, key = self._entries(app, args)
        return bodies.get(key)

    def _entries(self, app: Flask, args: tuple) -> tuple[dict, tuple]:
        config = app.config
        key = (*(_frozen(config[name]) for name in self.settings), *args)
        return app.extensions.setdefault(f"settings_answer:{self.name}", {}), key
