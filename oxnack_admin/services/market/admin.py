"""Market services as staff manage them (replacing the old chat bot), and their uploaded images."""
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from flask import current_app, url_for
from sqlalchemy import or_, select

from oxnack_admin.extensions import db
from oxnack_admin.models import MarketService
from oxnack_admin.settings import PROJECT_ROOT
from oxnack_admin.services.staff import audit
from oxnack_admin.services.paging import ListParams, Page, like_escape, paginate

SORTS = {"id": MarketService.id, "name": (MarketService.name_en, MarketService.id),
         "price_rub": (MarketService.price_rub, MarketService.id), "price_usd": (MarketService.price_usd, MarketService.id)}
FILTERS = ("state",)
# The first bytes of each image format we accept; the extension is ours, never the uploader's.
IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF87a", ".gif"),
                    (b"GIF89a", ".gif"))


class MarketError(ValueError):
    """The service or image cannot be saved as given; `field` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class MarketValues:
    name_ru: str
    description_ru: str
    name_en: str
    description_en: str
    price_usd: int
    price_rub: int
    enabled: bool = True


def search(params: ListParams) -> Page:
    statement = select(MarketService)
    if params.q:
        pattern = f"%{like_escape(params.q)}%"
        statement = statement.where(or_(MarketService.name_en.ilike(pattern, escape="\\"),
                                        MarketService.name_ru.ilike(pattern, escape="\\")))
    if params.filters.get("state") == "enabled":
        statement = statement.where(MarketService.enabled.is_(True))
    elif params.filters.get("state") == "disabled":
        statement = statement.where(or_(MarketService.enabled.is_(False), MarketService.enabled.is_(None)))
    return paginate(statement, params, SORTS)


def create(values: MarketValues, image_link: str | None, staff) -> MarketService:
    service = MarketService(**asdict(values), image_link=image_link or "")
    db.session.add(service)
    db.session.flush()
    audit.record(staff, "market.create", "market_service", service.id, after=service.to_legacy_json())
    return service


def update(service: MarketService, values: MarketValues, image_link: str | None, staff) -> MarketService:
    """Save new texts and prices; the image changes only when a new one was uploaded."""
    before = service.to_legacy_json()
    for column, value in asdict(values).items():
        setattr(service, column, value)
    if image_link:
        service.image_link = image_link
    db.session.flush()
    audit.record(staff, "market.update", "market_service", service.id, before=before, after=service.to_legacy_json())
    return service


def set_enabled(service: MarketService, enabled: bool, staff) -> None:
    if bool(service.enabled) == enabled:
        raise MarketError("The service is already " + ("enabled." if enabled else "disabled."))
    before = service.to_legacy_json()
    service.enabled = enabled
    audit.record(staff, "market.enable" if enabled else "market.disable", "market_service", service.id,
                 before=before, after=service.to_legacy_json())


def upload_folder() -> Path:
    """UPLOAD_FOLDER, relative paths taken from the project root."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    return folder if folder.is_absolute() else PROJECT_ROOT / folder


def store_image(upload) -> str:
    """Check an uploaded image (size, real format), store it under a random name; returns its URL."""
    data = upload.read(current_app.config["MAX_IMAGE_BYTES"] + 1)
    if not data:
        raise MarketError("The file is empty.", "image")
    if len(data) > current_app.config["MAX_IMAGE_BYTES"]:
        raise MarketError(f"Images up to {current_app.config['MAX_IMAGE_BYTES'] // (1024 * 1024)} MiB.", "image")
    extension = image_extension(data)
    if extension is None:
        raise MarketError("Only PNG, JPEG, GIF or WebP images.", "image")
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"market-{secrets.token_hex(12)}{extension}"
    (folder / name).write_bytes(data)
    return media_url(name)


def image_extension(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return next((extension for signature, extension in IMAGE_SIGNATURES if data.startswith(signature)), None)


def media_url(name: str) -> str:
    """The absolute URL the marketplace page (another origin) loads the image from."""
    base = current_app.config.get("MEDIA_URL_BASE") or ""
    if base:
        return f"{base.rstrip('/')}/media/{name}"
    return url_for("media.serve", filename=name, _external=True)
