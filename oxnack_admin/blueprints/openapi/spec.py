"""The OpenAPI 3.0 description of the classic endpoints, with this deployment's limits and catalogue."""
from flask import current_app

from . import crypto_spec, proxies_spec, vm_spec
from .parts import AUTH_ERROR, MARKET_ERROR, RELAY_STATUS, SERVER_ID, SESSION, STATUS_ERROR, STRING, answer, body, \
    errors, good, integer, obj, ref


def build() -> dict:
    """The whole document for the current app's configuration."""
    config = current_app.config
    shape = {"core": integer(config["MIN_CORE"], config["MX_CORE"]), "ram": integer(config["MIN_RAM"], config["MX_RAM"])}
    disk = integer(config["MIN_HDD"], config["MX_HDD"])
    auth_limits = {"413": answer(AUTH_ERROR, "Body over MAX_CONTENT_LENGTH"),
                   "429": answer(AUTH_ERROR, "Rate limit (per IP and per e-mail)")}
    credentials = body(obj(["mail", "passwd"], {"mail": {"type": "string", "format": "email", "maxLength": 254},
                                                  "passwd": {"type": "string", "maxLength": 128}}, closed=False))
    paths = {
        "/register": {"post": {
            "summary": "Register (or resend the code of an unverified account with the same password)",
            "tags": ["auth"], "requestBody": credentials,
            "responses": {"200": answer(ref("AuthMessage"), "Confirmation code sent to email"),
                          **errors(AUTH_ERROR, {400: "Email and password required / Invalid email format / "
                                                      "Password too weak", 409: "User already exists"}),
                          **auth_limits}}},
        "/register/code": {"post": {
            "summary": "Confirm the e-mailed code", "tags": ["auth"],
            "requestBody": body(obj(["mail", "code"], {"mail": {"type": "string", "format": "email"},
                                                         "code": {"type": "string", "pattern": "^[0-9]{6}$"}},
                                      closed=False)),
            "responses": {"200": answer(ref("AuthMessage"), "Email confirmed"),
                          **errors(AUTH_ERROR, {400: "Email and code required / Code must be numeric",
                                                 404: "Code not found or expired", 422: "Invalid code"}),
                          **auth_limits}}},
        "/login": {"post": {
            "summary": "Log in; sets the session_id cookie", "tags": ["auth"], "requestBody": credentials,
            "responses": {"200": {**answer(ref("AuthMessage"), "Authentication successful"),
                                  "headers": {"Set-Cookie": {"schema": STRING, "description":
                                              "session_id=<token>; HttpOnly; SameSite=Strict; Max-Age=604800"}}},
                          **errors(AUTH_ERROR, {400: "Email and password required / Invalid email format",
                                                 401: "User not found / Invalid password",
                                                 403: "Email not verified / Account blocked"}),
                          **auth_limits}}},
        "/get_mail": {"get": {
            "summary": "The signed-in customer's e-mail", "tags": ["account"], "security": SESSION,
            "responses": {"200": answer(good("mail", mail={"type": "string", "nullable": True}), "The e-mail"),
                          **errors(STATUS_ERROR, {401: "Unrecognized"})}}},
        "/get_balance": {"get": {
            "summary": "The signed-in customer's balance", "tags": ["account"], "security": SESSION,
            "responses": {"200": answer(good("balance got", balance={"type": "number"}), "The balance"),
                          **errors(STATUS_ERROR, {401: "unlogin"})}}},
        "/reset_cookie": {"post": {
            "summary": "Log out from all devices", "tags": ["account"], "security": SESSION,
            "responses": {"200": answer(good("all sessions ended", ended={"type": "integer"}), "Signed out"),
                          **errors(STATUS_ERROR, {401: "unlogin"})}}},
        "/countries": {"get": {
            "summary": "Countries offered", "tags": ["catalogue"],
            "responses": {"200": answer(good("countries", countries={"type": "array", "items": STRING}), "List")}}},
        "/osystems": {"get": {
            "summary": "Operating systems offered", "tags": ["catalogue"],
            "responses": {"200": answer(good("params", oss={"type": "array", "items": STRING}), "List")}}},
        "/parametrs": {"get": {
            "summary": "Unit prices and limits (legacy spelling)", "tags": ["catalogue"],
            "responses": {"200": answer(good("oss", **{name: {"type": "number"} for name in (
                "pr_ram", "pr_hdd", "pr_core", "pr_ip", "mx_ram", "mx_core", "mx_hdd", "min_ram", "min_core",
                "min_hdd")}), "Prices and limits")}}},
        "/calc_price": {"post": {
            "summary": "Price of an order; promo optional (\"NOT\" or unknown: no discount)", "tags": ["orders"],
            "requestBody": body(obj(["core", "ram", "ssd"], {**shape, "ssd": disk, "promo": STRING},
                                      closed=False)),
            "responses": {"200": answer(good("price", price={"type": "number"}, discount=integer(0, 100),
                                             base_price={"type": "number"}), "The price"),
                          **errors(STATUS_ERROR, {400: "more max parameters (wrong type or out of range)",
                                                   422: "not any confs: core, ram, ssd",
                                                   413: "Body over MAX_CONTENT_LENGTH"})}}},
        "/create_machine": {"post": {
            "summary": "Order a server: debit, claim a pool VM, queue provisioning", "tags": ["orders"],
            "security": SESSION,
            "requestBody": body(obj(["core", "ram", "hdd", "promo", "os"], {
                **shape, "hdd": disk, "promo": STRING, "os": {"type": "string", "enum": list(config["OS_TEMPLATES"])},
                "country": {"type": "string", "enum": list(config["COUNTRIES"])}}, closed=False)),
            "responses": {"201": answer(obj(["status", "message"], {
                              "status": {"type": "string", "enum": ["created"]},
                              "message": {"type": "string", "pattern": "^Server started creating, server_id: [0-9]+$"}}),
                              "Ordered; provisioning runs in the background"),
                          **errors(STATUS_ERROR, {
                              400: "bad os / bad country / unlogin or more max parameters", 401: "unlogin",
                              402: "small balance", 403: "account blocked", 413: "Body over MAX_CONTENT_LENGTH",
                              422: "not any confs: core, ram, hdd, promo, os", 429: "Rate limit",
                              501: "not server now (the pool has no free VM of that OS)"})}}},
        "/user_services": {"get": {
            "summary": "The customer's servers", "tags": ["orders"], "security": SESSION,
            "responses": {"200": answer(good("services", services={"type": "array", "items": ref("ServerView")}),
                                       "Servers"),
                          **errors(STATUS_ERROR, {401: "Unrecognized", 404: "NOT (no servers)"})}}},
        "/control_server": {"post": {
            "summary": "Start, stop or restart an owned server (queued)", "tags": ["orders"], "security": SESSION,
            "requestBody": body(obj(["server_id", "action"], {
                "server_id": SERVER_ID,
                "action": {"type": "string", "enum": ["start", "stop", "restart"]}}, closed=False)),
            "responses": {"200": answer(obj(["status", "message"], {
                              "status": {"type": "string", "enum": ["success"]}, "message": STRING}),
                              "Nothing to queue: a start while the server is being created (it will be running)"),
                          "202": answer(obj(["status", "message", "job_id"], {
                              "status": {"type": "string", "enum": ["success"]}, "message": STRING,
                              "job_id": STRING}), "Queued"),
                          **errors(STATUS_ERROR, {400: "server_id and action required / unknown action",
                                                   401: "unlogin", 403: "server suspended",
                                                   404: "server not found (or not yours)",
                                                   409: "another action is running / stop or restart while still being created",
                                                   413: "Body over MAX_CONTENT_LENGTH"})}}},
        "/create_invoice": {"post": {
            "summary": "Open a balance top-up at Platega; the payer goes to `redirect`", "tags": ["payments"],
            "security": SESSION,
            "requestBody": body(obj(["amount"], {
                "amount": integer(config["TOPUP_MIN"], config["TOPUP_MAX"]),
                "method": {"type": "integer", "minimum": 1, "maximum": 1000,
                           "description": "Platega paymentMethod (default 2 = SBP)"}}, closed=False)),
            "responses": {"201": answer(obj(["status", "transaction_id", "redirect", "amount"], {
                              "status": {"type": "string", "enum": ["created"]}, "transaction_id": STRING,
                              "redirect": STRING, "amount": {"type": "integer"}}),
                              "Recorded as a PENDING add_balance row with Platega's id"),
                          **errors(STATUS_ERROR, {400: "bad amount / bad method", 401: "unlogin",
                                                   413: "Body over MAX_CONTENT_LENGTH", 429: "Rate limit",
                                                   502: "payment gateway unavailable (nothing recorded)"})}}},
        "/platega/callback": {"post": {
            "summary": "Platega's payment callback; the body is never trusted (the status is re-read)",
            "tags": ["payments"],
            "parameters": [{"name": name, "in": "header", "required": True, "schema": STRING}
                           for name in ("X-MerchantId", "X-Secret")],
            "requestBody": body(obj(["id"], {"id": STRING, "amount": {"type": "number"}, "currency": STRING,
                                               "status": STRING, "paymentMethod": {"type": "integer"},
                                               "payload": STRING}, closed=False)),
            "responses": {"200": answer(obj(["status"], {"status": {"type": "string", "enum": ["ok"]}}),
                                       "A known invoice (repeats included)"),
                          **errors(STATUS_ERROR, {400: "bad request", 401: "unauthorized",
                                                   404: "unknown invoice", 413: "Body over MAX_CONTENT_LENGTH"})}}},
        "/debug/cache": {"get": {
            "summary": "Top-up invoices still pending (staff token, admin+)", "tags": ["payments"],
            "security": [{"staffToken": []}],
            "responses": {"200": answer(obj(["pending"], {"pending": {"type": "array", "items": obj(
                              ["transaction_id", "username", "amount", "created_at"], {
                                  "transaction_id": {"type": "string", "nullable": True},
                                  "username": {"type": "string", "nullable": True},
                                  "amount": {"type": "number", "nullable": True},
                                  "created_at": {"type": "string", "nullable": True}}, closed=False)}}), "Pending"),
                          **errors(STATUS_ERROR, {401: "unauthorized (no valid staff token)",
                                                   403: "forbidden (role below admin)"})}}},
        "/renew_server": {"post": {
            "summary": "Renew an owned server now from the balance (RENTAL_DAYS more)", "tags": ["orders"],
            "security": SESSION,
            "requestBody": body(obj(["server_id"], {"server_id": SERVER_ID}, closed=False)),
            "responses": {"200": answer(obj(["status", "message", "date_stop"], {
                              "status": {"type": "string", "enum": ["success"]},
                              "message": {"type": "string", "enum": ["renewed"]},
                              "date_stop": {"type": "string", "format": "date"}}), "Renewed"),
                          **errors(STATUS_ERROR, {400: "server_id required", 401: "unlogin", 402: "small balance",
                                                   404: "not found (unknown or not yours)",
                                                   409: "already renewed / server unavailable",
                                                   413: "Body over MAX_CONTENT_LENGTH"})}}},
        "/auto_renew": {"post": {
            "summary": "Switch automatic renewal of an owned server", "tags": ["orders"], "security": SESSION,
            "requestBody": body(obj(["server_id", "enabled"], {"server_id": SERVER_ID,
                                                                 "enabled": {"type": "boolean"}}, closed=False)),
            "responses": {"200": answer(obj(["status", "auto_renew"], {
                              "status": {"type": "string", "enum": ["success"]}, "auto_renew": {"type": "boolean"}}),
                              "Switched"),
                          **errors(STATUS_ERROR, {400: "server_id and enabled required", 401: "unlogin",
                                                   404: "not found (unknown or not yours)",
                                                   413: "Body over MAX_CONTENT_LENGTH"})}}},
        "/services": {"get": {
            "summary": "Enabled market services", "tags": ["market"],
            "responses": {"200": answer({"type": "array", "items": ref("MarketService")}, "Services"),
                          "500": answer(MARKET_ERROR, "err")}}},
        "/send_mail": {"post": {
            "summary": "Internal mail relay (shared password; only on MAIL_RELAY_BIND, to MAIL_RELAY_ALLOWED_NETWORKS)",
            "tags": ["mail relay"],
            "requestBody": body(obj(["to_email", "email_subject", "email_body", "api_passwd"], {
                "to_email": {"type": "string", "format": "email"}, "email_subject": STRING, "email_body": STRING,
                "api_passwd": STRING}, closed=False)),
            "responses": {"200": answer(obj(["status"], {"status": {"type": "string", "enum": ["sended"]}}),
                                       "Queued with a copy to the sender"),
                          **errors(RELAY_STATUS, {400: "err_missing_fields / err_bad_fields",
                                                   401: "err Unrecognized",
                                                   404: "err_not_found (not an internal caller, or not its listener)",
                                                   413: "err_too_large", 429: "err_rate_limited",
                                                   500: "error"})}}},
    }
    paths.update(proxies_spec.paths())
    paths.update(vm_spec.paths())
    paths.update(crypto_spec.paths())
    return {"openapi": "3.0.3",
            "info": {"title": "Oxnack classic API", "version": "1.0",
                     "description": "The calls of the legacy Oxnack site and services, kept compatible."},
            "paths": paths, "components": _components()}


def _components() -> dict:
    nullable_int, nullable_str = {"type": "integer", "nullable": True}, {"type": "string", "nullable": True}
    return {
        "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session_id"},
                            "staffToken": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            **proxies_spec.schemas(),
            "AuthMessage": obj(["message"], {"message": STRING}),
            "AuthError": obj(["error"], {"error": STRING}),
            "StatusError": obj(["status", "message"], {"status": {"type": "string", "enum": ["error"]},
                                                        "message": STRING}),
            "RelayStatus": obj(["status"], {"status": STRING}),
            "MarketError": obj(["error"], {"error": {"type": "string", "enum": ["err"]}}),
            "MarketService": obj(["id", "name_ru", "description_ru", "name_en", "description_en", "price_usd",
                                   "price_rub", "image_link", "enabled"], {
                "id": {"type": "integer"}, "name_ru": nullable_str, "description_ru": nullable_str,
                "name_en": nullable_str, "description_en": nullable_str, "price_usd": nullable_int,
                "price_rub": nullable_int, "image_link": nullable_str, "enabled": {"type": "boolean", "nullable": True}}),
            "ServerView": obj(["id", "status", "os", "cores", "ram", "hdd", "ssd", "ips", "ip", "country",
                                "date_start", "date_stop"], {
                "id": {"type": "integer"}, "status": {"type": "string", "enum": ["on", "off", "suspended"]}, "os": STRING,
                "cores": nullable_int, "ram": nullable_int, "hdd": nullable_int, "ssd": nullable_int,
                "ips": {"type": "array", "items": STRING}, "ip": STRING, "country": STRING,
                "date_start": {"type": "string", "format": "date", "nullable": True},
                "date_stop": {"type": "string", "format": "date", "nullable": True}}),
        },
    }
