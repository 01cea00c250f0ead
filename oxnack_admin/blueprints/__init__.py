"""Blueprints by feature: classic JSON endpoints of the legacy site, and the staff console."""
from flask import Flask


def register_all(app: Flask) -> None:
    from .health import bp as health

    for blueprint in (health,):
        app.register_blueprint(blueprint)
