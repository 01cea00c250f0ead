"""A worker killed while Telegram holds a newsletter message: every recipient still gets it at most once."""
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from oxnack_admin.extensions import db
from oxnack_admin.models import Newsletter, NewsletterRecipient
from oxnack_admin.models.enums import NewsletterState, RecipientState
from oxnack_admin.services.support import newsletters, sending
from tests.inbox.helpers import make_customers
from tests.jobs.support import wait_until
from tests.jobs.test_worker_killed import _kill_with_children
from tests.support.config import config_overrides
from tests.support.factories import make_staff

ROOT = Path(__file__).resolve().parents[2]
FIRST_TG = 7_300_000
COUNT = 60


def _start_worker(app, tmp_path: Path) -> subprocess.Popen:
    keys = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL",
            "TELEGRAM_BROADCAST_RATE", "NEWSLETTER_SENDERS")
    settings = {key: app.config[key] for key in keys}
    settings.update(OXNACK_ENV="development", SECRET_KEY=app.config["SECRET_KEY"], TELEGRAM_TIMEOUT=120, SMTP_HOST="")
    config_file = tmp_path / "worker_config.py"
    config_file.write_text("".join(f"{key} = {value!r}\n" for key, value in settings.items()))
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("OXNACK_") and name not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    environment.update(OXNACK_CONFIG=str(config_file), PYTHONPATH=str(ROOT))
    log = open(tmp_path / "worker.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", "telegram"],
                            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_a_worker_killed_mid_newsletter_sends_nobody_anything_twice(app, telegram, work, tmp_path):
    make_customers(COUNT, FIRST_TG)
    staff = make_staff("admin")
    with config_overrides(app, TELEGRAM_BROADCAST_RATE=50, NEWSLETTER_SENDERS=1):
        newsletter = newsletters.create(staff, "News", "<b>Hello</b>", "all", None, "telegram")
        newsletters.start(newsletter, staff)
        worker = _start_worker(app, tmp_path)
        try:
            wait_until(lambda: len(telegram.api_calls("sendMessage")) >= 20 or worker.poll() is not None, timeout=60,
                       what="the worker to be half-way")
            telegram.hang_next("sendMessage", 60, deliver=True)  # Telegram takes the next one; its answer never comes
            wait_until(lambda: not telegram._hangs or worker.poll() is not None, timeout=30,
                       what="the worker to hand a message to the hung Telegram")
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        finally:
            _kill_with_children(worker)

        assert sending.sweep(older_than_minutes=0)["restarted"] == [newsletter.id]
        work()

    counts = dict(db.session.execute(select(NewsletterRecipient.state, func.count()).where(
        NewsletterRecipient.newsletter_id == newsletter.id).group_by(NewsletterRecipient.state)).all())
    assert counts == {RecipientState.SENT: COUNT - 1, RecipientState.UNCERTAIN: 1}
    assert sorted(telegram.chats) == [FIRST_TG + n for n in range(COUNT)]
    assert all(len(messages) == 1 for messages in telegram.chats.values())  # the hung one arrived, and only once
    assert len(telegram.api_calls("sendMessage")) == COUNT
    db.session.expire_all()
    assert db.session.get(Newsletter, newsletter.id).state == NewsletterState.DONE
