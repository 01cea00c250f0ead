"""Blueprints by feature: classic JSON endpoints of the legacy site, and the staff console."""
from flask import Flask


def register_all(app: Flask) -> None:
    from .account import bp as account
    from .auth import bp as auth
    from .console import bp as console
    from .health import bp as health
    from .mail_relay import bp as mail_relay
    from .newsletter_pages import bp as newsletter_pages
    from .market import bp as market
    from .media import bp as media
    from .openapi import bp as openapi
    from .ops import bp as ops
    from .orders import bp as orders
    from .payments import bp as payments, pages_bp as payment_pages
    from .proxies import bp as proxies
    from .telegram import bp as telegram
    from .vm import bp as vm
    from .vm.pages import bp as vnc

    for blueprint in (health, auth, account, orders, proxies, market, mail_relay, payments, payment_pages, openapi,
                      console, media, telegram, vm, vnc, ops, newsletter_pages):
        app.register_blueprint(blueprint)
