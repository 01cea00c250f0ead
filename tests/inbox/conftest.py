"""Fixtures of the support, newsletter and alert tests: the console's signed-in staff and the Bot API simulator."""
import itertools

import pytest

from tests.support.config import config_overrides
from tests.console.conftest import admin, app, as_role  # noqa: F401
from tests.telegram.conftest import _keep_signal_handlers, deliver, telegram, work  # noqa: F401

_update_ids = itertools.count(10_000_000)


def photo_update(chat_id: int, file_id: str, caption: str = "", username: str = "customer") -> dict:
    """An update carrying a photo (sizes smallest first, as Telegram sends them)."""
    message = {"message_id": next(_update_ids), "date": 0, "chat": {"id": chat_id, "type": "private"},
               "from": {"id": chat_id, "is_bot": False, "first_name": username, "username": username,
                        "language_code": "en"},
               "photo": [{"file_id": f"{file_id}-small", "width": 90, "height": 90},
                         {"file_id": file_id, "width": 800, "height": 800}]}
    if caption:
        message["caption"] = caption
    return {"update_id": next(_update_ids), "message": message}


def document_update(chat_id: int, file_id: str, file_name: str, username: str = "customer") -> dict:
    message = {"message_id": next(_update_ids), "date": 0, "chat": {"id": chat_id, "type": "private"},
               "from": {"id": chat_id, "is_bot": False, "first_name": username, "username": username,
                        "language_code": "ru"},
               "document": {"file_id": file_id, "file_name": file_name, "mime_type": "text/html"}}
    return {"update_id": next(_update_ids), "message": message}


@pytest.fixture
def staff_chat(app, telegram):  # noqa: F811
    """Staff alerts go to this chat of the simulator."""
    with config_overrides(app, TELEGRAM_STAFF_CHAT_ID="-100500", ALERT_REPEAT_MINUTES=30):
        yield -100500
