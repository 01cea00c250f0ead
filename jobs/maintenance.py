"""Periodic jobs the cron scheduler queues (queue `default`)."""
from oxnack_admin.extensions import db
from oxnack_admin.services.lifecycle import termination
from oxnack_admin.services.mail import mail
from oxnack_admin.services.provisioning import runs as provisioning_runs
from oxnack_admin.services.accounts import sessions
from oxnack_admin.services.proxies import settle as proxy_settle, sync as proxy_sync
from oxnack_admin.services.support import alerts, sending as newsletter_sending
from oxnack_admin.services.telegram import outbox as telegram_outbox, updates as telegram_updates


def sweep() -> None:
    """Resume provisioning runs, wipes and mail that a dead worker or a lost job left behind; drop expired sessions;
    settle proxy purchases whose upstream answer was lost, and end proxy syncs and refunds whose process died;
    queue Telegram messages and updates again, and delete root passwords from chats when due;
    record newsletter sends a dead worker left as uncertain and give a newsletter without a sender a new one;
    alert staff when a queue is backed up."""
    provisioning_runs.resume_stuck_runs()
    termination.resume_stuck_wipes()
    mail.requeue_stale_mail()
    sessions.purge_expired_sessions()
    db.session.commit()
    proxy_sync.fail_abandoned_runs()
    proxy_settle.flag_stuck_refunds()
    proxy_settle.settle_pending_orders()
    telegram_outbox.requeue_stale()
    telegram_outbox.delete_due_secrets()
    telegram_updates.sweep()
    newsletter_sending.sweep()
    alerts.check_queue_backlog()
