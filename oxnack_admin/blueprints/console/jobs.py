"""Background jobs: queue counts, failed jobs with their error, retry and delete."""
from flask import url_for
from flask_login import current_user

from ...extensions import db
from ...models.enums import StaffRole
from oxnack_admin.services.staff import audit
from oxnack_admin.services.mail import mail
from oxnack_admin.services.ops import queues_admin
from . import bp
from .access import role_required
from .rendering import action_refused, action_result, render


def _context() -> dict:
    return {"queues": queues_admin.queue_stats(), "failed": queues_admin.failed_jobs(),
            "failed_mail": queues_admin.failed_mail()}


@bp.get("/jobs")
@role_required(StaffRole.SUPPORT)
def jobs():
    return render("console/jobs/page.html", "console/jobs/_panels.html", **_context())


@bp.post("/jobs/<queue_name>/<job_id>/retry")
@role_required(StaffRole.ADMIN)
def jobs_retry(queue_name: str, job_id: str):
    return _act(queue_name, job_id, queues_admin.retry_job, "job.retry", "Job {} is queued again.")


@bp.post("/jobs/<queue_name>/<job_id>/delete")
@role_required(StaffRole.ADMIN)
def jobs_delete(queue_name: str, job_id: str):
    return _act(queue_name, job_id, queues_admin.delete_job, "job.delete", "Job {} deleted.")


@bp.post("/mail/<int:message_id>/retry")
@role_required(StaffRole.ADMIN)
def jobs_mailretry(message_id: int):
    try:
        message = mail.retry_message(message_id)
    except mail.MailRetryRefused as error:
        db.session.rollback()
        return action_refused(str(error).capitalize() + ".", 409, url_for("console.jobs"))
    audit.record(current_user, "mail.retry", "mail_message", message.id, before={"state": "failed"},
                 after={"state": message.state, "to": message.to_email})
    db.session.commit()
    return action_result(f"Message {message_id} to {message.to_email} is queued again.", "console/jobs/_panels.html",
                         url_for("console.jobs"), **_context())


def _act(queue_name: str, job_id: str, operation, action: str, message: str):
    try:
        operation(queue_name, job_id)
    except queues_admin.JobNotFound as error:
        return action_refused(str(error), 404, url_for("console.jobs"))
    except queues_admin.JobRetryRefused as error:
        return action_refused(f"Not retried: {error}.", 409, url_for("console.jobs"))
    audit.record(current_user, action, "job", job_id, after={"queue": queue_name})
    db.session.commit()
    return action_result(message.format(job_id), "console/jobs/_panels.html", url_for("console.jobs"), **_context())
