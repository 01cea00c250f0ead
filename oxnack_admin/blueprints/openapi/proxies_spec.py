"""The proxy resale calls in the OpenAPI document: customer calls (session) and staff calls (bearer token)."""
from . import parts as s

MAX_ID = 2 ** 31 - 1
STAFF = [{"staffToken": []}]
NUMBER, INT, BOOL = {"type": "number"}, {"type": "integer"}, {"type": "boolean"}
NULLABLE_STR = {"type": "string", "nullable": True}
ORDER_REQUIRED = ["order_id", "proxy_id", "credentials", "price", "price_rub", "expires_at", "refundable"]
ORDER = {  # credentials are null unless the order is active (or its refund is under way)
    "order_id": INT, "proxy_id": INT, "product_id": INT,
    "credentials": s.obj(["ip", "port", "login", "password", "country", "ISP"], {
        "ip": NULLABLE_STR, "port": {"type": "integer", "nullable": True}, "login": NULLABLE_STR,
        "password": NULLABLE_STR, "country": NULLABLE_STR, "ISP": NULLABLE_STR}),
    "price": NUMBER, "price_rub": NUMBER, "expires_at": NULLABLE_STR, "refundable": BOOL,
    "state": {"type": "string", "enum": ["pending", "active", "refunding", "refunded", "failed", "flagged"]},
    "purchased_at": NULLABLE_STR, "refunded_at": NULLABLE_STR,
    "refund_amount": {"type": "number", "nullable": True}}


def paths() -> dict:
    """The /api/external-proxy/* operations."""
    error, prefix = s.STATUS_ERROR, "/api/external-proxy"
    staff_errors = s.errors(error, {401: "unauthorized (no valid staff token)", 403: "forbidden (role below admin)"})
    query = [
        {"name": "country_code", "in": "query", "schema": {"type": "string", "pattern": "^[A-Za-z]{2,3}$"}},
        {"name": "city", "in": "query", "schema": {"type": "string", "maxLength": 100}},
        {"name": "type", "in": "query", "schema": {"type": "string", "enum": ["residential", "mobile", "hosting"]}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000}},
        {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100000,
                                                         "description": "capped at 100"}},
    ]
    return {
        prefix + "/list": {"get": {
            "summary": "Proxies on sale now, filtered and paged", "tags": ["proxies"], "security": s.SESSION,
            "parameters": query,
            "responses": {"200": s.answer(s.ref("ProxyList"), "One page"),
                          **s.errors(error, {400: "bad page / page_size / type / country_code", 401: "unlogin"})}}},
        prefix + "/purchase": {"post": {
            "summary": "Buy a proxy (Idempotency-Key: a repeat returns the same order, charged once)",
            "tags": ["proxies"], "security": s.SESSION,
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                            "schema": {"type": "string", "maxLength": 200, "pattern": "^[!-~]+$"}}],
            "requestBody": s.body(s.obj(["product_id"], {"product_id": s.integer(1, MAX_ID)}, closed=False)),
            "responses": {"200": s.answer(s.ref("ProxyOrder"), "Bought: the credentials"),
                          "202": s.answer(s.ref("ProxyOrderPending"),
                                         "Paid, but the upstream's outcome cannot be read yet: the order is "
                                         "pending (no credentials) until the sweep settles it; /orders shows it"),
                          **s.errors(error, {400: "product_id required / bad Idempotency-Key", 401: "unlogin",
                                              402: "small balance", 403: "account blocked",
                                              404: "product not found", 409: "proxy is no longer on sale",
                                              413: "Body over MAX_CONTENT_LENGTH", 429: "Rate limit",
                                              502: "the upstream refused or failed (the money is back)"})}}},
        prefix + "/orders": {"get": {
            "summary": "The customer's proxy orders with credentials", "tags": ["proxies"], "security": s.SESSION,
            "responses": {"200": s.answer(s.obj(["status", "orders"], {
                              "status": {"type": "string", "enum": ["success"]},
                              "orders": {"type": "array", "items": s.ref("ProxyOrder")}}), "Orders"),
                          **s.errors(error, {401: "unlogin"})}}},
        prefix + "/refund": {"post": {
            "summary": "Refund an offline proxy within SOCKS_REFUND_MINUTES, once", "tags": ["proxies"],
            "security": s.SESSION,
            "requestBody": s.body(s.obj(["order_id"], {"order_id": s.integer(1, MAX_ID)}, closed=False)),
            "responses": {"200": s.answer(s.obj(["status", "message", "refund_amount", "order_id"], {
                              "status": {"type": "string", "enum": ["success"]}, "message": s.STRING,
                              "refund_amount": NUMBER, "order_id": INT}), "Refunded to the balance"),
                          **s.errors(error, {400: "order_id required", 401: "unlogin",
                                              404: "order not found (or not yours)",
                                              409: "already refunded / in progress", 413: "Body over MAX_CONTENT_LENGTH",
                                              422: "too late / still online / not refundable", 429: "Rate limit",
                                              502: "the upstream is unavailable"})}}},
        prefix + "/sync": {"post": {
            "summary": "Sync the inventory with the upstream now (staff token, admin+)", "tags": ["proxies staff"],
            "security": STAFF,
            "requestBody": {"required": False, "content": {"application/json": {"schema": s.obj([], {
                "country_code": {"type": "string", "pattern": "^[A-Za-z]{2,3}$", "nullable": True},
                "page_size": s.integer(1, 500)}, closed=False)}}},
            "responses": {"200": s.answer(s.obj(["total_fetched", "total_available_external", "added", "updated",
                                                 "removed", "skipped", "sync_time"], {
                              "total_fetched": INT, "total_available_external": INT, "added": INT, "updated": INT,
                              "removed": INT, "skipped": INT, "sync_time": s.STRING}), "Counts of the run"),
                          **staff_errors, **s.errors(error, {400: "bad country_code / page_size",
                                                              409: "a sync is already running",
                                                              413: "Body over MAX_CONTENT_LENGTH",
                                                              502: "the upstream failed (inventory unchanged)"})}}},
        prefix + "/cleanup": {"post": {
            "summary": "Delete proxies off sale and never ordered (staff token, admin+)", "tags": ["proxies staff"],
            "security": STAFF,
            "responses": {"200": s.answer(s.obj(["status", "removed_count", "message"], {
                              "status": {"type": "string", "enum": ["success"]}, "removed_count": INT,
                              "message": s.STRING}), "Cleaned"), **staff_errors}}},
        prefix + "/stats": {"get": {
            "summary": "Stock, sales, refunds, revenue (RUB), countries, last sync (staff token, admin+)",
            "tags": ["proxies staff"], "security": STAFF,
            "responses": {"200": s.answer(s.obj(["total_inventory", "total_sold", "total_refunded", "revenue",
                                                 "countries_available", "last_sync"], {
                              "total_inventory": INT, "total_sold": INT, "total_refunded": INT, "revenue": NUMBER,
                              "countries_available": INT, "last_sync": NULLABLE_STR}), "Stats"), **staff_errors}}},
    }


def schemas() -> dict:
    return {
        "ProxyList": s.obj(["proxies", "total", "page", "page_size"], {
            "proxies": {"type": "array", "items": s.obj(
                ["product_id", "proxy_id", "country", "country_code", "city", "ISP", "type", "price", "price_rub",
                 "status"], {
                    "product_id": INT, "proxy_id": INT, "country": NULLABLE_STR, "country_code": NULLABLE_STR,
                    "city": NULLABLE_STR, "ISP": NULLABLE_STR,
                    "type": {"type": "string", "enum": ["residential", "mobile", "hosting"]},
                    "price": NUMBER, "price_rub": NUMBER, "status": {"type": "integer", "enum": [0, 1], "description": "the upstream's: 1 online"}})},
            "total": INT, "page": INT, "page_size": {"type": "integer", "minimum": 1, "maximum": 100}}),
        "ProxyOrder": s.obj(ORDER_REQUIRED, ORDER),
        "ProxyOrderPending": s.obj(["status", "message", *ORDER_REQUIRED], {
            "status": {"type": "string", "enum": ["pending"]}, "message": s.STRING, **ORDER}),
    }
