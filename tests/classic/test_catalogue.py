"""GET /countries, /osystems, /parametrs, POST /calc_price (with promocodes), GET /services."""
from datetime import datetime, timedelta, timezone

import pytest

from oxnack_admin.extensions import db
from oxnack_admin.models import MarketService
from tests.support.factories import make_promocode


def test_countries(client):
    assert client.get("/countries").json == {"status": "good", "message": "countries", "countries": ["russia"]}


def test_operating_systems(client):
    assert client.get("/osystems").json == {"status": "good", "message": "params", "oss": ["ubuntu", "debian"]}


def test_parameters_use_the_legacy_names(client):
    response = client.get("/parametrs")
    assert response.status_code == 200
    assert response.json == {"status": "good", "message": "oss", "pr_ram": 10, "pr_hdd": 10, "pr_core": 10,
                             "pr_ip": 10, "mx_ram": 5, "mx_core": 5, "mx_hdd": 30, "min_ram": 1, "min_core": 1,
                             "min_hdd": 15}


def test_catalogue_follows_configuration(app_with):
    custom = app_with(COUNTRIES=["finland", "russia"], PR_CORE=7, MX_CORE=8,
                      OS_TEMPLATES={"alma": {"template_vmid": 300, "pool": "alma"}}).test_client()
    assert custom.get("/countries").json["countries"] == ["finland", "russia"]
    assert custom.get("/osystems").json["oss"] == ["alma"]
    assert custom.get("/parametrs").json["pr_core"] == 7 and custom.get("/parametrs").json["mx_core"] == 8
    assert custom.post("/calc_price", json={"core": 8, "ram": 1, "ssd": 15}).json["price"] == 8 * 7 + 10 + 150


def test_calc_price_without_promo(client):
    response = client.post("/calc_price", json={"core": 2, "ram": 3, "ssd": 20})
    assert response.status_code == 200
    assert response.json == {"status": "good", "message": "price", "price": 250, "discount": 0, "base_price": 250}


@pytest.mark.parametrize("promo", ["NOT", "", "not", "UNKNOWN", "x" * 500, None])
def test_calc_price_with_no_or_unknown_promo_is_full_price(client, promo):
    make_promocode("SAVE10", 10)
    response = client.post("/calc_price", json={"core": 1, "ram": 1, "ssd": 15, "promo": promo})
    assert response.status_code == 200 and response.json["price"] == 170 and response.json["discount"] == 0


def test_calc_price_applies_the_promo_rounding_down(client):
    make_promocode("SAVE15", 15)
    response = client.post("/calc_price", json={"core": 1, "ram": 1, "ssd": 15, "promo": " SAVE15 "})
    # 170 less 15 % = 144.5 -> 144
    assert response.json == {"status": "good", "message": "price", "price": 144, "discount": 15, "base_price": 170}


@pytest.mark.parametrize("columns", [
    {"enabled": False},
    {"expires_at": datetime.now(timezone.utc) - timedelta(minutes=1)},
    {"max_uses": 3, "uses": 3},
])
def test_calc_price_ignores_a_promo_that_cannot_be_used(client, columns):
    make_promocode("DEAD", 50, **columns)
    response = client.post("/calc_price", json={"core": 1, "ram": 1, "ssd": 15, "promo": "DEAD"})
    assert response.json["price"] == 170 and response.json["discount"] == 0


def test_calc_price_honours_a_future_expiry_and_remaining_uses(client):
    make_promocode("LIVE", 50, expires_at=datetime.now(timezone.utc) + timedelta(days=1), max_uses=3, uses=2)
    assert client.post("/calc_price", json={"core": 1, "ram": 1, "ssd": 15, "promo": "LIVE"}).json["price"] == 85


def test_calc_price_accepts_hdd_for_the_disk(client):
    assert client.post("/calc_price", json={"core": 1, "ram": 1, "hdd": 30}).json["price"] == 320


@pytest.mark.parametrize("body", [{}, {"core": 1, "ram": 1}, {"core": None, "ram": 1, "ssd": 15},
                                  {"ram": 1, "ssd": 15}])
def test_calc_price_missing_fields(client, body):
    response = client.post("/calc_price", json=body)
    assert response.status_code == 422
    assert response.json == {"status": "error", "message": "not any confs: core, ram, ssd"}


@pytest.mark.parametrize("body", [
    {"core": "2", "ram": 1, "ssd": 15}, {"core": 2.0, "ram": 1, "ssd": 15}, {"core": True, "ram": 1, "ssd": 15},
    {"core": 1, "ram": 1e9, "ssd": 15}, {"core": -1, "ram": 1, "ssd": 15}, {"core": 0, "ram": 1, "ssd": 15},
    {"core": 6, "ram": 1, "ssd": 15}, {"core": 1, "ram": 1, "ssd": 14}, {"core": 1, "ram": 1, "ssd": 31},
    {"core": 10 ** 40, "ram": 1, "ssd": 15}, {"core": [1], "ram": 1, "ssd": 15},
    {"core": 1, "ram": 1, "ssd": 15, "promo": 10},
])
def test_calc_price_wrong_types_and_out_of_range(client, body):
    response = client.post("/calc_price", json=body)
    assert response.status_code == 400
    assert response.json == {"status": "error", "message": "more max parameters"}


@pytest.mark.parametrize("data", [b"core=1", b"[]", b"null", b"{"])
def test_calc_price_body_not_a_json_object(client, data):
    response = client.post("/calc_price", data=data, content_type="application/json")
    assert response.status_code == 422 and response.json["status"] == "error"


@pytest.mark.legacy_ledger  # the sample's old balances never matched a ledger
def test_market_services_lists_enabled_rows_with_every_column(client, legacy_sample):
    response = client.get("/services")
    assert response.status_code == 200
    assert response.json == [
        {"id": 1, "name_ru": "Telegram-бот под ключ", "description_ru": "Разработка бота",
         "name_en": "Turnkey Telegram bot", "description_en": "Bot development", "price_usd": 50,
         "price_rub": 4500, "image_link": "https://img.example.com/a1b2c.jpg", "enabled": True},
        {"id": 2, "name_ru": "Лендинг", "description_ru": "Одностраничный сайт", "name_en": "Landing page",
         "description_en": "One-page site", "price_usd": 80, "price_rub": 7000,
         "image_link": "https://img.example.com/d3e4f.jpg", "enabled": True},
    ]


def test_market_services_empty_is_an_empty_array(client):
    db.session.add(MarketService(name_en="Hidden", enabled=False))
    db.session.commit()
    response = client.get("/services")
    assert response.status_code == 200 and response.json == []
