"""Market services sold on the marketplace page (legacy `services`)."""
from sqlalchemy import Boolean, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class MarketService(db.Model):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_ru: Mapped[str | None] = mapped_column(Text)
    description_ru: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    price_usd: Mapped[int | None] = mapped_column(Integer)
    price_rub: Mapped[int | None] = mapped_column(Integer)
    image_link: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool | None] = mapped_column(Boolean, server_default=text("true"))

    LEGACY_COLUMNS = ("id", "name_ru", "description_ru", "name_en", "description_en",
                      "price_usd", "price_rub", "image_link", "enabled")

    def to_legacy_json(self) -> dict:
        return {column: getattr(self, column) for column in self.LEGACY_COLUMNS}
