"""Market services: create and edit in both languages with an image upload served under /media."""
import struct
import zlib

from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import AuditEvent, MarketService
from tests.console.conftest import HTMX


def png(width=2, height=2, padding=0) -> bytes:
    """A real PNG; `padding` adds a private chunk to make it bigger."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    extra = chunk(b"prVt", b"\x00" * padding) if padding else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def form(**changes):
    data = {"name_ru": "Бот", "description_ru": "Телеграм-бот", "name_en": "Bot", "description_en": "Telegram bot",
            "price_rub": "4500", "price_usd": "50", "enabled": "y"}
    data.update(changes)
    return data


def upload(data: bytes, name="picture.png"):
    import io
    return (io.BytesIO(data), name)


def test_create_a_service_with_an_image(app, client, as_role, upload_folder):
    as_role("admin")
    response = client.post("/console/market/new", data=form(image=upload(png())), headers=HTMX,
                           content_type="multipart/form-data")
    assert response.status_code == 204
    service = db.session.scalar(select(MarketService))
    assert (service.name_ru, service.price_rub, service.price_usd, service.enabled) == ("Бот", 4500, 50, True)
    assert service.image_link.startswith("http://localhost/media/market-") and service.image_link.endswith(".png")
    name = service.image_link.rsplit("/", 1)[1]
    assert (upload_folder / name).read_bytes() == png()
    served = client.get(f"/media/{name}")
    assert served.status_code == 200 and served.data == png() and served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/services").get_json()[0]["image_link"] == service.image_link
    assert db.session.scalar(select(AuditEvent.action)) == "market.create"


def test_images_are_checked(app, client, as_role, upload_folder):
    as_role("admin")
    not_image = client.post("/console/market/new", data=form(image=upload(b"<script>alert(1)</script>", "x.png")),
                            headers=HTMX, content_type="multipart/form-data")
    assert not_image.status_code == 422 and "Only PNG, JPEG, GIF or WebP" in not_image.get_data(as_text=True)
    missing = client.post("/console/market/new", data=form(), headers=HTMX, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choose an image" in missing.get_data(as_text=True)
    both_languages = client.post("/console/market/new", data=form(name_en="", image=upload(png())), headers=HTMX,
                                 content_type="multipart/form-data")
    assert both_languages.status_code == 422
    assert db.session.scalar(select(MarketService.id)) is None
    assert not upload_folder.exists() or not any(upload_folder.iterdir())


def test_an_image_may_be_larger_than_other_request_bodies(app, client, as_role, upload_folder):
    as_role("admin")
    big = png(padding=int(1.5 * 1024 * 1024))  # over MAX_CONTENT_LENGTH (1 MiB), under MAX_IMAGE_BYTES
    response = client.post("/console/market/new", data=form(image=upload(big)), headers=HTMX,
                           content_type="multipart/form-data")
    assert response.status_code == 204
    app.config["MAX_IMAGE_BYTES"], saved = 1024, app.config["MAX_IMAGE_BYTES"]
    try:
        too_big = client.post("/console/market/new", data=form(image=upload(png(padding=4096))), headers=HTMX,
                              content_type="multipart/form-data")
        assert too_big.status_code == 422 and "Images up to" in too_big.get_data(as_text=True)
    finally:
        app.config["MAX_IMAGE_BYTES"] = saved


def test_edit_keeps_the_image_unless_a_new_one_comes(app, client, as_role, upload_folder):
    as_role("admin")
    service = MarketService(name_ru="А", description_ru="Б", name_en="A", description_en="B", price_usd=1,
                            price_rub=90, image_link="https://old.example/a.png", enabled=True)
    db.session.add(service)
    db.session.commit()
    response = client.post(f"/console/market/{service.id}/edit", data=form(name_en="Better bot", price_usd="60"),
                           headers=HTMX, content_type="multipart/form-data")
    assert response.status_code == 200 and "Better bot saved" in response.headers["HX-Trigger"]
    db.session.expire_all()
    service = db.session.get(MarketService, service.id)
    assert (service.name_en, service.price_usd, service.image_link) == ("Better bot", 60, "https://old.example/a.png")
    client.post(f"/console/market/{service.id}/edit", data=form(image=upload(png(), "new.png")), headers=HTMX,
                content_type="multipart/form-data")
    db.session.expire_all()
    assert "/media/market-" in db.session.get(MarketService, service.id).image_link
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "market.update"))
    assert event.before["name_en"] == "A" and event.after["name_en"] == "Better bot"


def test_disable_hides_the_service_from_the_marketplace(app, client, as_role):
    as_role("admin")
    service = MarketService(name_ru="А", description_ru="Б", name_en="A", description_en="B", price_usd=1,
                            price_rub=90, image_link="", enabled=True)
    db.session.add(service)
    db.session.commit()
    assert len(client.get("/services").get_json()) == 1
    assert client.post(f"/console/market/{service.id}/disable", headers=HTMX).status_code == 200
    assert client.get("/services").get_json() == []
    assert client.post(f"/console/market/{service.id}/disable", headers=HTMX).status_code == 409
    assert client.post(f"/console/market/{service.id}/enable", headers=HTMX).status_code == 200
    listing = client.get("/console/market?state=enabled", headers=HTMX).get_data(as_text=True)
    assert f"/console/market/{service.id}" in listing


def test_media_never_leaves_the_upload_folder(app, client, upload_folder):
    upload_folder.mkdir(parents=True)
    (upload_folder.parent / "secret.txt").write_text("no")
    assert client.get("/media/../secret.txt").status_code == 404
    assert client.get("/media/missing.png").status_code == 404
