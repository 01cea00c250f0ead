"""The ledger with filters and CSV, the jobs page with retry/delete, the audit log, the dashboard."""
import csv
import io
from datetime import datetime, timedelta, timezone

from rq import Queue
from sqlalchemy import select, update

from jobs.worker import run_worker
from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import AuditEvent, MailMessage, Transaction
from oxnack_admin.models.enums import MailState, RunState, TransactionType
from oxnack_admin.services.staff import audit
from oxnack_admin.services.money import ledger
from tests.console.conftest import HTMX, make_run
from tests.console.test_users import adjust_form_token
from tests.support.factories import make_server, make_staff, make_user


def explode(reason: str) -> None:
    """A job that fails, for the jobs page."""
    raise RuntimeError(f"boom: {reason}")


def test_ledger_filters(app, client, as_role):
    as_role("support")
    alice = make_user("alice@example.com", balance=100)
    bob = make_user("bob@example.com", balance=40)
    ledger.move_money(alice.id, -30, TransactionType.ORDER, "server 5")
    db.session.execute(update(Transaction).where(Transaction.user_id == bob.id)
                       .values(created_at=datetime(2024, 1, 15, tzinfo=timezone.utc)))
    db.session.commit()
    def rows(query):
        body = client.get(f"/console/transactions?{query}", headers=HTMX).get_data(as_text=True)
        return body.count("<tr>") - 1  # the header row
    assert rows("") == 3
    assert rows("user=alice") == 2
    assert rows("type=buy_server") == 1
    assert rows("since=2024-01-15&until=2024-01-15") == 1
    assert rows("until=2024-01-14") == 0
    assert rows("type=nonsense") == 3  # an unknown filter value is ignored


def test_ledger_csv_export_follows_the_filters(app, client, as_role):
    staff = as_role("admin")
    user = make_user("csv@example.com", balance=10)
    client.post(f"/console/users/{user.id}/balance", headers=HTMX, data={
        "amount": "5", "reason": "=HYPERLINK(\"x\")", "submit_token": adjust_form_token(client, user.id)})
    response = client.get("/console/transactions.csv?user=csv@&staff=1")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0][:3] == ["id", "created_at", "user_id"]
    assert len(table) == 2  # the opening balance was not made by staff
    row = dict(zip(table[0], table[1], strict=True))
    assert row["mail"] == "csv@example.com" and row["amount"] == "5.00" and row["staff"] == staff.email
    assert row["description"].startswith("staff adjustment:")
    assert "Export these 1 rows" in client.get("/console/transactions?user=csv@&staff=1").get_data(as_text=True)


def test_csv_cells_are_never_formulas(app, client, as_role):
    as_role("support")
    user = make_user("=cmd@example.com", balance=10)
    table = list(csv.reader(io.StringIO(client.get("/console/transactions.csv").get_data(as_text=True))))
    row = dict(zip(table[0], table[1], strict=True))
    assert row["mail"] == "'=cmd@example.com" and row["user_id"] == str(user.id)


def test_failed_jobs_show_their_error_and_can_be_retried_or_deleted(app, client, as_role):
    staff = as_role("admin")
    queue = Queue("default", connection=redis_client.connection)
    first = queue.enqueue("tests.console.test_ledger_jobs_audit.explode", "first")
    second = queue.enqueue("tests.console.test_ledger_jobs_audit.explode", "second")
    run_worker(app, ["default"], burst=True, with_scheduler=False)
    page = client.get("/console/jobs").get_data(as_text=True)
    assert "RuntimeError: boom: first" in page and "RuntimeError: boom: second" in page
    retried = client.post(f"/console/jobs/default/{first.id}/retry", headers=HTMX)
    assert retried.status_code == 200 and f"Job {first.id} is queued again" in retried.headers["HX-Trigger"]
    assert queue.get_job_ids() == [first.id]
    deleted = client.post(f"/console/jobs/default/{second.id}/delete", headers=HTMX)
    assert deleted.status_code == 200
    assert queue.failed_job_registry.count == 0
    assert client.post(f"/console/jobs/default/{second.id}/retry", headers=HTMX).status_code == 404
    assert client.post(f"/console/jobs/nosuchqueue/{first.id}/delete", headers=HTMX).status_code == 404
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.target_id, e.staff_id) for e in events] == [("job.retry", first.id, staff.id),
                                                                     ("job.delete", second.id, staff.id)]


def test_undelivered_mail_can_be_sent_again(app, client, as_role):
    as_role("admin")
    message = MailMessage(to_email="lost@example.com", subject="Ваш сервер готов", body="...", kind="server_ready",
                          state=MailState.FAILED, attempts=3, last_error="SMTP 451: try later")
    db.session.add(message)
    db.session.commit()
    page = client.get("/console/jobs").get_data(as_text=True)
    assert "lost@example.com" in page and "SMTP 451: try later" in page
    response = client.post(f"/console/mail/{message.id}/retry", headers=HTMX)
    assert response.status_code == 200 and "is queued again" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(MailMessage, message.id).state == MailState.QUEUED
    job, = Queue("mail", connection=redis_client.connection).get_jobs()
    assert job.args == (message.id,)
    message.state = MailState.SENT
    db.session.commit()
    assert client.post(f"/console/mail/{message.id}/retry", headers=HTMX).status_code == 409
    assert db.session.scalar(select(AuditEvent.action)) == "mail.retry"


def test_the_audit_log_shows_who_when_and_what_changed(app, client, as_role):
    as_role("support")
    admin = make_staff("admin", email="auditor@oxnack.test")
    audit.record(admin, "promocode.update", "promocode", "X", before={"discount": 10, "enabled": True},
                 after={"discount": 15, "enabled": True})
    audit.record(admin, "user.block", "user", 5, before={"blocked_at": None}, after={"blocked_at": "now"})
    db.session.commit()
    body = client.get("/console/audit?action=promocode", headers=HTMX).get_data(as_text=True)
    assert "auditor@oxnack.test" in body and "promocode.update" in body and "user.block" not in body
    assert body.count('class="diff-changed"') == 1  # discount changed, enabled did not
    assert "user.block" in client.get("/console/audit?target_type=user&target_id=5", headers=HTMX).get_data(as_text=True)
    assert "No events match" in client.get("/console/audit?actor=nobody", headers=HTMX).get_data(as_text=True)


def test_the_dashboard(app, client, as_role):
    staff = as_role("support")
    old = make_user("old@example.com")
    old.created_at = datetime.now(timezone.utc) - timedelta(days=30)
    buyer = make_user("new@example.com", balance=200)
    ledger.move_money(buyer.id, 150, TransactionType.TOP_UP, "payment")
    ledger.move_money(buyer.id, -120, TransactionType.ORDER, "server")
    make_server(11, busy=True, username=buyer.username, status="on")
    failed = make_server(12, busy=True, username=buyer.username, status="off")
    make_run(failed, buyer, state=RunState.FAILED)
    make_server(13, os_name="ubuntu")
    make_server(14, os_name="debian")
    make_server(15, os_name="debian")
    Queue("mail", connection=redis_client.connection).enqueue("tests.console.test_ledger_jobs_audit.explode", "q")
    audit.record(staff, "user.verify_email", "user", buyer.id)
    db.session.commit()
    body = client.get("/console/").get_data(as_text=True)
    assert '<div class="stat">2</div>' in body and "<strong>1</strong> new this week" in body
    assert "Running</dt><dd><span class=\"badge badge-on\">1<" in body
    assert "Stopped</dt><dd><span class=\"badge badge-off\">1<" in body
    assert "3 (debian 2, ubuntu 1)" in body
    assert "state=failed" in body
    assert "Revenue 120.00" in body and "Top-ups 150.00" in body
    assert body.count('class="bar-revenue"') == 1 and body.count('class="bar-topup"') == 1
    assert "user.verify_email" in body
    assert '<tr><td>mail</td><td class="num">1</td>' in body
