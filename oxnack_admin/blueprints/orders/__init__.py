"""Classic server calls (legacy port 7002): the rent page's catalogue and price, orders, my services, power.

Errors answer {"status": "error", "message": "<message>"} with the legacy messages.
"""
from flask import request

from oxnack_admin.services.accounts import sessions
from oxnack_admin.services.orders import catalogue, customer_servers, placement
from oxnack_admin.services.fleet import power
from oxnack_admin.services.lifecycle import renewal
from oxnack_admin.services.money import pricing, promocodes
from oxnack_admin.services.money.ledger import as_json_number
from ...web.classic import ClassicBlueprint, ClassicError, any_origin, json_object, rate_limited, require_customer, \
    require_customer_record, signed_in_account, status_error
from ...web.settings_answers import SettingsAnswer
from . import bodies

bp = ClassicBlueprint("orders", __name__, shape=status_error)

# Why an order was refused -> the legacy status and message.
REFUSALS = {
    placement.OutsideLimits: (400, bodies.ORDER_OUT_OF_RANGE),
    placement.UnknownOS: (400, "bad os"),
    placement.UnknownCountry: (400, "bad country"),
    placement.InsufficientFunds: (402, "small balance"),
    placement.PoolEmpty: (501, "not server now"),
    placement.AccountBlocked: (403, "account blocked"),
}


@bp.errorhandler(placement.OrderError)
@bp.errorhandler(placement.InsufficientFunds)
def refuse_order(error: Exception):
    return bp.error_response(*REFUSALS[type(error)])


@bp.errorhandler(power.PowerActionError)
@bp.errorhandler(renewal.RenewalRefused)
def refuse_server_action(error: power.PowerActionError | renewal.RenewalRefused):
    return bp.error_response(error.status, error.message)


def _price_answer(shape, discount: int) -> dict:
    if not pricing.within_limits(shape):
        raise ClassicError(400, bodies.QUOTE_OUT_OF_RANGE)
    quote = pricing.quote(shape, discount)
    return {"status": "good", "message": "price", "price": as_json_number(quote.price), "discount": quote.discount,
            "base_price": as_json_number(quote.base)}


# Settings only (README, "Performance"): each answer is encoded once per value of what it reads.
COUNTRIES = SettingsAnswer("countries", ("COUNTRIES",), lambda: {
    "status": "good", "message": "countries", "countries": catalogue.countries()})
OPERATING_SYSTEMS = SettingsAnswer("osystems", ("OS_TEMPLATES",), lambda: {
    "status": "good", "message": "params", "oss": catalogue.operating_systems()})
PARAMETERS = SettingsAnswer("parametrs", catalogue.PARAMETER_SETTINGS, lambda: {
    "status": "good", "message": "oss", **catalogue.parameters()})
PRICES = SettingsAnswer("calc_price", pricing.PRICE_SETTINGS, _price_answer)


@bp.get("/countries")
def countries():
    return COUNTRIES.response()


@bp.get("/osystems")
def operating_systems():
    return OPERATING_SYSTEMS.response()


@bp.get("/parametrs")
def parameters():
    return PARAMETERS.response()


@bp.post("/calc_price")
@any_origin  # a quote: it changes nothing and needs no session
def calc_price():
    shape, promo = bodies.quote_from(json_object())
    return PRICES.response(shape, promocodes.discount_for(promo))


@bp.post("/create_machine")
@rate_limited("RATELIMIT_ORDER", account=signed_in_account)
def create_machine():
    user = require_customer_record("unlogin")
    placed = placement.place_order(user, bodies.order_from(json_object()))
    return {"status": "created", "message": f"Server started creating, server_id: {placed.server.id}"}, 201


@bp.get("/user_services")
def user_services():
    # The session and the servers in one statement (README, "Performance").
    customer, servers = customer_servers.signed_in_services(request.cookies.get(sessions.COOKIE_NAME))
    if customer is None:
        raise ClassicError(401, "Unrecognized")
    return services_answer(customer, servers)


def services_answer(customer: sessions.Customer, servers: list) -> dict:
    """The answer alone, for the view above and web/hot_reads.py."""
    services = customer_servers.services_view(customer, servers)
    if not services:
        raise ClassicError(404, "NOT")
    return {"status": "good", "message": "services", "services": services}


@bp.post("/control_server")
def control_server():
    customer = require_customer("unlogin")
    server_id, action = bodies.power_request_from(json_object())
    server = customer_servers.owned_server(customer, server_id)
    if server is None:
        raise ClassicError(404, "server not found")
    requested = power.request_power_action(server, action, requested_by=f"customer:{customer.id}")
    if requested.job_id is None:  # nothing to queue (a start while the server is being created)
        return {"status": "success", "message": requested.message}, 200
    return {"status": "success", "message": requested.message, "job_id": requested.job_id}, 202


@bp.post("/renew_server")
def renew_server():
    user = require_customer_record("unlogin")
    server_id = bodies.server_id_from(json_object(), bodies.RENEW_FIELDS)
    date_stop = renewal.renew_for_customer(user, server_id)  # InsufficientFunds answers 402 "small balance"
    return {"status": "success", "message": "renewed", "date_stop": date_stop.date().isoformat()}


@bp.post("/auto_renew")
def auto_renew():
    user = require_customer_record("unlogin")
    server_id, enabled = bodies.auto_renew_from(json_object())
    return {"status": "success", "auto_renew": renewal.set_auto_renew(user, server_id, enabled)}
