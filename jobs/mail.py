"""Mail jobs (queue `mail`)."""
from oxnack_admin.services.mail import mail

from . import current_job_id, is_last_attempt, rq_attempt


def send_message(message_id: int) -> None:
    """Send one recorded message over SMTP, at most once."""
    with rq_attempt():
        mail.deliver(message_id, job_id=current_job_id(), last_attempt=is_last_attempt())
