"""A body that cannot be parsed, too deeply nested included, gets the endpoint's legacy 4xx, never a 500.

Each endpoint answers it as it answers any body that is not a JSON object: 400 in its shape (the
order and price calls: their contract's 422 "not any confs", which tests/classic/test_orders.py pins).
"""
import pytest
from flask import Flask

from oxnack_admin.web.json_provider import StdlibProvider
from tests.classic.test_errors import in_shape
from tests.support.customers import login_cookie
from tests.support.factories import make_user

STATUS_ERROR = {"status": "error", "message": None}
TOO_DEEP = b"[" * 50_000  # about 50 KB: deeper than the JSON parser can recurse
BROKEN = {"too deep": TOO_DEEP, "too deep, closed": b"[" * 3000 + b"]" * 3000, "truncated": b'{"mail": ',
          "not UTF-8": b"\xff\xfe{}"}

ENDPOINTS = [
    ("/login", {"error": None}, 400), ("/register", {"error": None}, 400), ("/register/code", {"error": None}, 400),
    ("/create_machine", STATUS_ERROR, 422), ("/calc_price", STATUS_ERROR, 422), ("/control_server", STATUS_ERROR, 400),
    ("/create_invoice", STATUS_ERROR, 400), ("/api/external-proxy/purchase", STATUS_ERROR, 400),
    ("/api/external-proxy/refund", STATUS_ERROR, 400), ("/send_mail", {"status": None}, 400),
]


@pytest.fixture
def signed_in_client(client, app):
    login_cookie(client, make_user("deep@example.com", balance=100))
    return client


@pytest.mark.parametrize("body", BROKEN.values(), ids=BROKEN.keys())
@pytest.mark.parametrize("path, shape, status", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_unparseable_body_gets_the_endpoints_4xx(signed_in_client, path, shape, status, body, content_type):
    response = signed_in_client.post(path, data=body, content_type=content_type)
    assert response.status_code == status, (response.status_code, response.data[:200])
    assert response.is_json and in_shape(response.json, shape), response.data[:200]
    not_json = signed_in_client.post(path, data=b"not json", content_type=content_type)
    assert (response.status_code, response.json) == (not_json.status_code, not_json.json)


@pytest.mark.parametrize("path, shape, status", [("/login", {"error": None}, 400), ("/calc_price", STATUS_ERROR, 422)])
def test_too_deep_body_without_a_session(client, path, shape, status):
    """The hot-reads layer answers /calc_price before Flask: the same 4xx from there."""
    response = client.post(path, data=TOO_DEEP, content_type="application/json")
    assert response.status_code == status
    assert response.is_json and in_shape(response.json, shape)


def test_the_stdlib_provider_refuses_too_deep_json_as_malformed():
    with pytest.raises(ValueError):
        StdlibProvider(Flask(__name__)).loads(TOO_DEEP)
