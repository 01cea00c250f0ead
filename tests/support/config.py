"""Changing the session app's configuration for one test."""
import contextlib
from collections.abc import Callable, Iterator

from flask import Flask


@contextlib.contextmanager
def config_overrides(app: Flask, **initial) -> Iterator[Callable[..., None]]:
    """Yield set_config(**values); every key it touched is restored on exit."""
    saved = {}

    def set_config(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config.get(key))
            app.config[key] = value

    set_config(**initial)
    try:
        yield set_config
    finally:
        app.config.update(saved)
