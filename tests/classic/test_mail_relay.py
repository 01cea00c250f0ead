"""POST /send_mail: the shared password, the message and its copy queued, the legacy answers."""
import pytest
from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import MailMessage
from tests.classic.conftest import queued_jobs
from tests.conftest import TEST_RELAY_PASSWORD

GOOD = {"to_email": "client@example.com", "email_subject": "Ваш сервер готов", "email_body": "Привет!\nIP: 1.2.3.4",
        "api_passwd": TEST_RELAY_PASSWORD}


def messages() -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).order_by(MailMessage.id)))


def test_relay_queues_the_message_and_a_copy_to_the_sender(client, app):
    response = client.post("/send_mail", json=GOOD)
    assert response.status_code == 200 and response.json == {"status": "sended"}
    original, copy = messages()
    assert (original.to_email, original.subject, original.body, original.kind) == (
        "client@example.com", "Ваш сервер готов", "Привет!\nIP: 1.2.3.4", "relay")
    assert (copy.to_email, copy.subject, copy.body, copy.kind) == (
        app.config["MAIL_SENDER"], "[COPY] (sended to: client@example.com) Ваш сервер готов", original.body,
        "relay_copy")
    assert sorted(job.args for job in queued_jobs("mail")) == [(original.id,), (copy.id,)]
    assert all(job.func_name == "jobs.mail.send_message" for job in queued_jobs("mail"))


def test_relay_allows_an_empty_body(client):
    assert client.post("/send_mail", json={**GOOD, "email_body": ""}).status_code == 200


@pytest.mark.parametrize("password", ["wrong", TEST_RELAY_PASSWORD + "x", TEST_RELAY_PASSWORD.upper()])
def test_relay_refuses_a_wrong_password(client, password):
    response = client.post("/send_mail", json={**GOOD, "api_passwd": password})
    assert response.status_code == 401 and response.json == {"status": "err Unrecognized"}
    assert messages() == []


@pytest.mark.parametrize("password, status, answer", [("", 400, "err_missing_fields"), (" ", 400, "err_missing_fields"),
                                                      ("anything", 401, "err Unrecognized")])
def test_an_empty_configured_password_authorizes_nothing(app_with, password, status, answer):
    relay = app_with(MAIL_RELAY_PASSWORD="").test_client()
    response = relay.post("/send_mail", json={**GOOD, "api_passwd": password})
    assert response.status_code == status and response.json == {"status": answer}
    assert db.session.scalar(select(func.count()).select_from(MailMessage)) == 0


@pytest.mark.parametrize("missing", ["to_email", "email_subject", "email_body", "api_passwd"])
def test_relay_missing_fields(client, missing):
    body = {key: value for key, value in GOOD.items() if key != missing}
    response = client.post("/send_mail", json=body)
    assert response.status_code == 400 and response.json == {"status": "err_missing_fields"}


@pytest.mark.parametrize("changes", [{"to_email": 5}, {"email_subject": None}, {"email_body": ["x"]},
                                     {"api_passwd": 123}, {"to_email": ""}, {"email_subject": "  "}])
def test_relay_wrong_types(client, changes):
    response = client.post("/send_mail", json={**GOOD, **changes})
    assert response.status_code == 400 and response.json == {"status": "err_missing_fields"}


@pytest.mark.parametrize("data", [b"to_email=a", b"[]", b"", b"{"])
def test_relay_body_not_a_json_object(client, data):
    response = client.post("/send_mail", data=data, content_type="application/json")
    assert response.status_code == 400 and response.json == {"status": "err_missing_fields"}


@pytest.mark.parametrize("changes", [{"to_email": "not-an-address"}, {"to_email": "a@example.com\r\nBcc: x@evil.test"},
                                     {"email_subject": "Hi\r\nBcc: x@evil.test"}, {"email_body": "nul \x00 here"}])
def test_relay_refuses_bad_addresses_and_header_injection(client, changes):
    response = client.post("/send_mail", json={**GOOD, **changes})
    assert response.status_code == 400 and response.json == {"status": "err_bad_fields"}
    assert messages() == []


def test_is_authorized_with_an_empty_configured_password_is_false_even_for_an_empty_one(app_with):
    from oxnack_admin.services.mail import mail_relay
    with app_with(MAIL_RELAY_PASSWORD="").app_context():
        assert mail_relay.is_authorized("") is False
        assert mail_relay.is_authorized("x") is False


RELAY_LISTENER = dict(MAIL_RELAY_BIND="127.0.0.1:7003")  # the default of config.example.py


@pytest.mark.parametrize("base_url, remote", [("http://localhost:7002", "127.0.0.1"),
                                              ("http://localhost:7004", "127.0.0.1"),
                                              ("http://localhost:7003", "203.0.113.9"),
                                              ("http://localhost:7003", "10.0.0.5"),
                                              ("http://localhost:7003", "::ffff:198.51.100.1")])
def test_relay_is_not_found_on_public_ports_or_from_outside(app_with, base_url, remote):
    relay = app_with(**RELAY_LISTENER).test_client()
    response = relay.post("/send_mail", json=GOOD, base_url=base_url, environ_overrides={"REMOTE_ADDR": remote})
    assert response.status_code == 404 and response.json == {"status": "err_not_found"}
    assert messages() == []


@pytest.mark.parametrize("remote", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
def test_relay_answers_loopback_callers_on_its_listener(app_with, remote):
    relay = app_with(**RELAY_LISTENER).test_client()
    response = relay.post("/send_mail", json=GOOD, base_url="http://localhost:7003",
                          environ_overrides={"REMOTE_ADDR": remote})
    assert response.status_code == 200 and response.json == {"status": "sended"}
    assert len(messages()) == 2


def test_the_host_header_does_not_open_the_relay(app_with):
    """The listener is the socket's port, never what the client writes in Host."""
    relay = app_with(**RELAY_LISTENER).test_client()
    response = relay.post("/send_mail", json=GOOD, base_url="http://localhost:7002",
                          headers={"Host": "localhost:7003"})
    assert response.status_code == 404


def test_allowed_networks_admit_an_internal_subnet(app_with):
    relay = app_with(MAIL_RELAY_BIND="", MAIL_RELAY_ALLOWED_NETWORKS=["10.8.0.0/16"]).test_client()
    inside = relay.post("/send_mail", json=GOOD, environ_overrides={"REMOTE_ADDR": "10.8.3.4"})
    outside = relay.post("/send_mail", json=GOOD, environ_overrides={"REMOTE_ADDR": "10.9.3.4"})
    assert (inside.status_code, outside.status_code) == (200, 404)
