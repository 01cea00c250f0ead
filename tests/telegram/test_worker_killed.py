"""A worker killed after Telegram accepted a message: the message is never sent twice."""
import os
import subprocess
import sys
from pathlib import Path

from oxnack_admin.extensions import db
from oxnack_admin.models import TelegramMessage
from oxnack_admin.models.enums import TelegramMessageState as State
from oxnack_admin.services.telegram import outbox
from tests.jobs.support import wait_until
from tests.jobs.test_worker_killed import _kill_with_children

ROOT = Path(__file__).resolve().parents[2]
CHAT = 8880001


def _start_worker(app, tmp_path: Path) -> subprocess.Popen:
    keys = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL")
    settings = {key: app.config[key] for key in keys}
    settings.update(OXNACK_ENV="development", SECRET_KEY=app.config["SECRET_KEY"], TELEGRAM_TIMEOUT=120)
    config_file = tmp_path / "worker_config.py"
    config_file.write_text("".join(f"{key} = {value!r}\n" for key, value in settings.items()))
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("OXNACK_") and name not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    environment.update(OXNACK_CONFIG=str(config_file), PYTHONPATH=str(ROOT))
    log = open(tmp_path / "worker.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", "telegram"],
                            cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_a_worker_killed_after_telegram_took_the_message_does_not_send_it_twice(app, telegram, work, tmp_path):
    telegram.hang_next("sendMessage", 60, deliver=True)  # Telegram takes it, the answer never comes back
    message_id = outbox.queue_message(CHAT, "Your server is ready").id
    db.session.commit()
    worker = _start_worker(app, tmp_path)
    try:
        wait_until(lambda: telegram.api_calls("sendMessage") or worker.poll() is not None, timeout=60,
                   what="the worker to hand the message to Telegram")
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        _kill_with_children(worker)
    assert len(telegram.messages(CHAT)) == 1
    db.session.expire_all()
    assert db.session.get(TelegramMessage, message_id).state == State.SENDING

    outbox.deliver(message_id)  # RQ running the job again
    assert outbox.requeue_stale(older_than_minutes=0) == {"requeued": [], "uncertain": [message_id]}
    work()
    assert len(telegram.api_calls("sendMessage")) == 1 and len(telegram.messages(CHAT)) == 1
    db.session.expire_all()
    assert db.session.get(TelegramMessage, message_id).state == State.UNCERTAIN
