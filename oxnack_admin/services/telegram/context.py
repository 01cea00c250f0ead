"""One update as the bot's handlers see it: who wrote, in which chat and language, and how to answer."""
import logging
from dataclasses import dataclass, field

from oxnack_admin.clients.telegram import TelegramError
from oxnack_admin.extensions import db
from oxnack_admin.models import TelegramChat, User
from oxnack_admin.services.telegram import outbox
from oxnack_admin.services.telegram.texts import button, say

log = logging.getLogger(__name__)


@dataclass
class Ctx:
    chat_id: int
    sender: dict
    chat: TelegramChat
    user: User | None
    callback_id: str | None = None
    answered: bool = field(default=False)

    @property
    def lang(self) -> str:
        return self.chat.language or "en"

    @property
    def username(self) -> str | None:
        return self.sender.get("username")

    def say(self, key: str, **values) -> str:
        return say(self.lang, key, **values)

    def button(self, key: str, data: str, label: str | None = None) -> dict:
        return {"text": label or button(self.lang, key), "callback_data": data}

    def reply(self, text: str, rows: list[list[dict]] | None = None, *, secret: bool = False) -> None:
        """Queue a message to this chat and commit (the outbox sends it after the commit)."""
        outbox.queue_message(self.chat_id, text, user_id=self.user.id if self.user else None,
                             reply_markup={"inline_keyboard": rows} if rows else None, secret=secret)
        db.session.commit()

    def answer(self, text: str | None = None) -> None:
        """Answer the callback query (once); a lost answer only leaves a spinner, so it is not queued."""
        if self.callback_id is None or self.answered:
            return
        self.answered = True
        try:
            outbox.api().answer_callback_query(self.callback_id, text)
        except TelegramError as exc:
            log.info("callback %s not answered: %s", self.callback_id, exc.message)
