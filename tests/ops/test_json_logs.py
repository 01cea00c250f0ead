"""LOG_FORMAT=json: one JSON object per line with the request id, and never a password in it."""
import io
import json
import logging

import pytest

from oxnack_admin import create_app
from oxnack_admin.logging_setup import RequestIdFilter
from tests.conftest import TEST_RELAY_PASSWORD, make_test_config
from tests.support.factories import make_staff

SECRET = "Hunter2-Secret-Pw9"


@pytest.fixture
def json_log(database_url, redis_url, app):
    """(the app with LOG_FORMAT=json, its log output); the shared handler goes back to text afterwards."""
    built = create_app(make_test_config(database_url, redis_url, LOG_FORMAT="json", LOG_LEVEL="DEBUG"))
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RequestIdFilter) for f in h.filters))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield built, stream
    handler.setStream(previous)
    create_app(make_test_config(database_url, redis_url))  # text again for the tests after this one


def test_every_line_is_json_with_the_request_id_and_no_password(json_log):
    app, stream = json_log
    client = app.test_client()
    with app.app_context():
        make_staff("support", email="logged@oxnack.test")
    client.post("/console/login", data={"email": "logged@oxnack.test", "password": SECRET})  # a failed sign-in is logged
    client.post("/register", json={"mail": "log-order@example.com", "passwd": SECRET}, headers={"X-Request-ID": "req-abc"})
    client.post("/login", json={"mail": "log-order@example.com", "passwd": "Wrong" + SECRET})
    client.post("/send_mail", json={"to_email": "x@example.com", "email_subject": "s", "email_body": "b",
                                    "api_passwd": "wrong-" + TEST_RELAY_PASSWORD})
    client.post("/send_mail", json={"to_email": "x@example.com", "email_subject": "s", "email_body": SECRET,
                                    "api_passwd": TEST_RELAY_PASSWORD})
    lines = [line for line in stream.getvalue().splitlines() if line]
    assert len(lines) >= 2
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "request_id", "message"} <= set(entry) for entry in entries)
    assert any(entry["request_id"] not in ("-", None) for entry in entries)
    assert any("failed sign-in" in entry["message"] for entry in entries)
    for line in lines:
        assert SECRET not in line and TEST_RELAY_PASSWORD not in line
