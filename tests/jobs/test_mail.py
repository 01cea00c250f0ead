"""Mail through the real worker to a real SMTP server: once, never lost, retried while SMTP is down."""
import logging
import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.smtp import AuthResult
from rq import Queue
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import MailMessage
from oxnack_admin.models.enums import MailState
from oxnack_admin.services.mail import mail
from oxnack_admin.services.provisioning.steps import new_root_password
from tests.jobs.conftest import SmtpServer


def _queue(kind="registration_code", **context) -> int:
    context = context or {"code": "123456", "minutes": 10}
    message = mail.queue_templated_mail("client@example.com", kind, **context)
    db.session.commit()
    return message.id


def _message(message_id) -> MailMessage:
    db.session.expire_all()
    return db.session.get(MailMessage, message_id)


def test_a_message_is_sent_once_as_plain_utf8_from_oxnack(app, smtp, work):
    message_id = _queue()

    work("mail")

    [received] = smtp.messages
    assert received["From"] == "Oxnack <noreply@oxnack.test>"
    assert received["To"] == "client@example.com"
    assert received["Subject"] == "Код подтверждения регистрации Oxnack"
    assert received.get_content_type() == "text/plain" and received.get_content_charset() == "utf-8"
    assert "Ваш код подтверждения регистрации в Oxnack: 123456" in received.get_content()
    row = _message(message_id)
    assert row.state == MailState.SENT and row.attempts == 1 and row.sent_at is not None
    assert row.job_id

    # A duplicate job for the same row (a sweep, a double click) sends nothing more.
    Queue("mail", connection=redis_client.connection).enqueue("jobs.mail.send_message", message_id)
    work("mail")
    assert len(smtp.messages) == 1 and _message(message_id).attempts == 1


def test_a_database_lost_as_smtp_accepts_still_records_the_message_sent_once(app, smtp, work):
    message_id = _queue()
    killed = []

    def kill_the_senders_connection():
        # The sender holds the row FOR UPDATE (RowShareLock) while it talks SMTP: end exactly that session.
        engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
        with engine.connect() as connection:
            killed.extend(connection.execute(text(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE c.relname = 'mail_messages' AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()")).scalars())
        engine.dispose()

    smtp.handler.before_accepting = kill_the_senders_connection
    work("mail")

    assert killed == [True]  # the fault happened: the commit after the 250 met a dead connection
    row = _message(message_id)
    assert row.state == MailState.SENT and row.attempts == 1 and row.sent_at is not None
    assert "[removed after delivery]" in row.body  # the code is gone from the stored copy, as after any send
    smtp.handler.before_accepting = None
    Queue("mail", connection=redis_client.connection).enqueue("jobs.mail.send_message", message_id)
    work("mail")
    assert len(smtp.messages) == 1  # recorded, so nothing sends it again


def test_smtp_down_through_every_retry_keeps_the_message_failed_until_staff_retry(app, smtp_down, work):
    message_id = mail.queue_mail("client@example.com", "Hello", "No secret in here", "relay").id
    db.session.commit()

    work("mail")

    row = _message(message_id)
    assert row.state == MailState.FAILED and row.attempts == 3  # first try and two retries
    assert "cannot reach SMTP" in row.last_error and row.sent_at is None

    smtp_down.start()
    mail.retry_message(message_id)
    db.session.commit()
    work("mail")

    assert len(smtp_down.messages) == 1
    row = _message(message_id)
    assert row.state == MailState.SENT and row.attempts == 4 and row.last_error is None


def test_a_temporary_refusal_is_retried_and_delivered_once(app, smtp, work):
    smtp.handler.refuse_next = 1  # 451: try again later
    message_id = _queue()

    work("mail")

    assert len(smtp.messages) == 1
    row = _message(message_id)
    assert row.state == MailState.SENT and row.attempts == 2


def test_a_permanent_refusal_fails_at_once(app, smtp, work):
    smtp.handler.refuse_next = 5
    smtp.handler.refusal = "550 5.1.1 No such user here"
    message_id = _queue()

    work("mail")

    row = _message(message_id)
    assert row.state == MailState.FAILED and row.attempts == 1  # retrying a 550 cannot help
    assert "550" in row.last_error
    assert smtp.messages == []


def test_a_sent_message_cannot_be_retried(app, smtp, work):
    message_id = _queue()
    work("mail")
    with pytest.raises(mail.MailRetryRefused):
        mail.retry_message(message_id)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_is_used_when_configured(app, job_config, smtp_down, work):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"relay-secret")

    server = SmtpServer(smtp_down.port, authenticator=authenticator, auth_required=True,
                        auth_require_tls=False).start()
    try:
        job_config(SMTP_USER="mailer", SMTP_PASSWORD="relay-secret")
        message_id = _queue()
        work("mail")
    finally:
        server.stop()

    assert logins == [(b"mailer", b"relay-secret")]
    assert len(server.messages) == 1 and _message(message_id).state == MailState.SENT


@pytest.fixture
def tls_certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1 that the client trusts (through SSL_CERT_FILE)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


def test_starttls_upgrades_the_connection_before_the_message(app, job_config, smtp_down, tls_certificate, work):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, tls_certificate))
    server = SmtpServer(smtp_down.port, tls_context=context, require_starttls=True).start()
    try:
        job_config(SMTP_STARTTLS=True)
        message_id = _queue()
        work("mail")
    finally:
        server.stop()

    assert len(server.messages) == 1 and _message(message_id).state == MailState.SENT
    assert server.handler.envelopes[0].rcpt_tos == ["client@example.com"]


def test_an_untrusted_certificate_fails_at_once(app, job_config, smtp_down, tls_certificate, work, monkeypatch):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, tls_certificate))
    monkeypatch.delenv("SSL_CERT_FILE")
    server = SmtpServer(smtp_down.port, tls_context=context, require_starttls=True).start()
    try:
        job_config(SMTP_STARTTLS=True)
        message_id = _queue()
        work("mail")
    finally:
        server.stop()

    row = _message(message_id)
    assert row.state == MailState.FAILED and row.attempts == 1 and "TLS" in row.last_error
    assert server.messages == []


def test_without_smtp_host_the_log_says_a_message_would_be_sent_but_never_its_body(app, job_config, caplog):
    job_config(SMTP_HOST="")
    message_id = _queue()

    with caplog.at_level(logging.DEBUG):
        mail.deliver(message_id)

    assert f"mail {message_id} (registration_code) to client@example.com would be sent now" in caplog.text
    assert "123456" not in caplog.text and "Здравствуйте" not in caplog.text
    assert _message(message_id).state == MailState.SENT


ROOT_PASSWORD = new_root_password()  # made as provisioning makes one, never a literal


@pytest.mark.parametrize("kind, context, secret, line", [
    ("registration_code", {"code": "987654", "minutes": 10}, "987654", "Ваш код подтверждения регистрации в Oxnack: "),
    ("server_ready", dict(server_id=301, cores=2, ram=2, hdd=20, os="ubuntu", ip="198.51.100.1",
                          password=ROOT_PASSWORD), ROOT_PASSWORD, "Пароль root: "),
])
def test_a_secret_is_removed_from_the_stored_body_once_sent(app, smtp, work, kind, context, secret, line):
    message_id = _queue(kind, **context)
    assert secret in _message(message_id).body  # needed until it is delivered

    work("mail")

    [received] = smtp.messages
    assert secret in received.get_content()  # the customer got it
    row = _message(message_id)
    assert row.state == MailState.SENT and secret not in row.body
    assert f"{line}{mail.REDACTED}" in row.body and "Oxnack" in row.body  # the rest stays readable


def test_a_secret_is_removed_when_delivery_is_given_up_and_the_message_is_not_resent(app, smtp, job_config, work):
    job_config(MAIL_RETRY_INTERVALS=[])
    smtp.handler.refuse_next, smtp.handler.refusal = 1, "550 5.1.1 No such mailbox"
    message_id = _queue("registration_code", code="424242", minutes=10)

    work("mail")

    row = _message(message_id)
    assert row.state == MailState.FAILED and "424242" not in row.body
    with pytest.raises(mail.MailRetryRefused, match="secret"):
        mail.retry_message(message_id)


def test_the_sweep_queues_a_message_whose_job_was_lost(app, smtp, work):
    message_id = _queue()
    Queue("mail", connection=redis_client.connection).empty()  # the job is gone (Redis lost it)

    assert mail.requeue_stale_mail(older_than_minutes=60) == []  # too recent to call it lost
    assert mail.requeue_stale_mail(older_than_minutes=0) == [message_id]
    work("mail")

    assert len(smtp.messages) == 1 and _message(message_id).state == MailState.SENT


def test_every_template_renders_with_a_subject(app):
    contexts = {
        "server_ready": dict(server_id=301, cores=2, ram=2, hdd=20, os="ubuntu", ip="198.51.100.1", password="Pw1"),
        "provisioning_failed": dict(server_id=301, cores=2, ram=2, hdd=20, os="ubuntu", price=60),
        "top_up_received": dict(amount=100, balance=350),
        # Flags (auto_renew, covered, resumed) change the wording; every value given here is shown.
        "lifecycle_reminder": dict(server_id=301, ip="198.51.100.1", date_stop="01.02.2027", days_left=3, price=60),
        "lifecycle_renewed": dict(server_id=301, ip="198.51.100.1", date_stop="03.03.2027", price=60),
        "lifecycle_suspended": dict(server_id=301, ip="198.51.100.1", date_stop="01.02.2027",
                                    terminate_on="08.02.2027"),
        "lifecycle_terminated": dict(server_id=301, ip="198.51.100.1", date_stop="01.02.2027"),
    }
    for kind, context in contexts.items():
        subject, body = mail.render_mail(kind, **context)
        assert subject and "Oxnack" in subject and body.strip().endswith("Oxnack")
        for value in context.values():
            assert str(value) in subject + body
