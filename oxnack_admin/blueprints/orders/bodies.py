"""Strict reading of the order bodies: exact JSON types, the legacy status and message for each fault."""
from oxnack_admin.services.money import promocodes
from oxnack_admin.services.orders.placement import Order
from oxnack_admin.services.money.pricing import Shape
from ...web.classic import ClassicError, is_storable, whole_number

ORDER_FIELDS_MISSING = "not any confs: core, ram, hdd, promo, os"
ORDER_OUT_OF_RANGE = "unlogin or more max parameters"
QUOTE_FIELDS_MISSING = "not any confs: core, ram, ssd"
QUOTE_OUT_OF_RANGE = "more max parameters"
POWER_FIELDS = "server_id and action required"
RENEW_FIELDS = "server_id required"
AUTO_RENEW_FIELDS = "server_id and enabled required"
MAX_SERVER_ID = 2 ** 31 - 1  # servers.id is a PostgreSQL integer


def order_from(body: dict | None) -> Order:
    """An Order from /create_machine's body; 422 when fields are missing, 400 when they are wrong."""
    # The contract names promo among the required fields; the site always sends "NOT" for none.
    if body is None or any(body.get(name) is None for name in ("core", "ram", "hdd", "promo", "os")):
        raise ClassicError(422, ORDER_FIELDS_MISSING)
    shape = _shape(body["core"], body["ram"], body["hdd"], ORDER_OUT_OF_RANGE)
    if not isinstance(body["os"], str):
        raise ClassicError(400, "bad os")
    return Order(shape=shape, os=body["os"], promo=_promo(body.get("promo"), ORDER_OUT_OF_RANGE),
                 country=_country(body.get("country")))


def quote_from(body: dict | None) -> tuple[Shape, str | None]:
    """(shape, promo) from /calc_price's body, whose disk is "ssd" ("hdd" accepted too)."""
    disk = None if body is None else body.get("ssd", body.get("hdd"))
    if body is None or body.get("core") is None or body.get("ram") is None or disk is None:
        raise ClassicError(422, QUOTE_FIELDS_MISSING)
    return _shape(body["core"], body["ram"], disk, QUOTE_OUT_OF_RANGE), _promo(body.get("promo"), QUOTE_OUT_OF_RANGE)


def power_request_from(body: dict | None) -> tuple[int, str]:
    """(server_id, action) from /control_server's body; the id may come as a number or digit string."""
    body = body or {}
    server_id, action = body.get("server_id"), body.get("action")
    if isinstance(server_id, str) and server_id.strip().isascii() and server_id.strip().isdigit():
        server_id = int(server_id.strip())
    server_id = whole_number(server_id)
    if server_id is None or not 0 < server_id <= MAX_SERVER_ID or not isinstance(action, str):
        raise ClassicError(400, POWER_FIELDS)
    return server_id, action


def server_id_from(body: dict | None, message: str) -> int:
    """The server_id of a renewal body, as a number or a digit string."""
    server_id = (body or {}).get("server_id")
    if isinstance(server_id, str) and server_id.strip().isascii() and server_id.strip().isdigit():
        server_id = int(server_id.strip())
    server_id = whole_number(server_id)
    if server_id is None or not 0 < server_id <= MAX_SERVER_ID:
        raise ClassicError(400, message)
    return server_id


def auto_renew_from(body: dict | None) -> tuple[int, bool]:
    """(server_id, enabled) from /auto_renew's body; `enabled` must be a JSON boolean."""
    server_id = server_id_from(body, AUTO_RENEW_FIELDS)
    enabled = (body or {}).get("enabled")
    if not isinstance(enabled, bool):
        raise ClassicError(400, AUTO_RENEW_FIELDS)
    return server_id, enabled


def _shape(cores, ram, hdd, out_of_range: str) -> Shape:
    numbers = [whole_number(value) for value in (cores, ram, hdd)]
    if None in numbers:  # "2", 2.5, 1e9, true: wrong type, same answer as out of range
        raise ClassicError(400, out_of_range)
    return Shape(*numbers)


def _promo(value, wrong: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ClassicError(400, wrong)
    return promocodes.normalize(value)


def _country(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not is_storable(value):
        raise ClassicError(400, "bad country")
    return value
