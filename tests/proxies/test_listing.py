"""The customer's list: only proxies on sale now, filters, page_size capped at 100, strict query strings."""
from decimal import Decimal

from tests.proxies.conftest import customer
from tests.support.customers import login_cookie

LIST = "/api/external-proxy/list"


def test_the_list_filters_pages_and_caps(client, upstream, stock, settings):
    settings(SOCKS_SYNC_PAGE_SIZE=100)
    stock(105, "US")
    stock(3, "DE", mobile=True, city="Berlin")
    stock(2, "DE", hosting=True, city="Munich")
    offline = stock(1, "FR")[0]
    upstream.set_status(offline.upstream_id, 0)
    stock(0)  # one more sync: the French proxy goes off sale
    assert client.get(LIST).status_code == 401
    user, _ = customer(Decimal(0))
    login_cookie(client, user)

    everything = client.get(LIST + "?page_size=500").json
    assert everything["page_size"] == 100 and len(everything["proxies"]) == 100 and everything["total"] == 110
    assert len(client.get(LIST + "?page=1&page_size=100").json["proxies"]) == 10
    first = everything["proxies"][0]
    assert set(first) == {"product_id", "proxy_id", "country", "country_code", "city", "ISP", "type", "price",
                          "price_rub", "status"}
    assert first["price"] == 2 and first["price_rub"] == 180 and first["status"] == 1 and first["type"] == "residential"
    assert client.get(LIST).json["page_size"] == 50

    german = client.get(LIST + "?country_code=de").json
    assert german["total"] == 5 and {p["country_code"] for p in german["proxies"]} == {"DE"}
    assert client.get(LIST + "?country_code=DE&type=mobile").json["total"] == 3
    assert client.get(LIST + "?type=hosting").json["total"] == 2
    assert client.get(LIST + "?city=munich").json["total"] == 2
    assert client.get(LIST + "?country_code=FR").json["total"] == 0  # offline: not on sale

    for bad in ("?page=-1", "?page=x", "?page_size=0", "?type=satellite", "?country_code=Germany1", "?page_size=1e3"):
        answer = client.get(LIST + bad)
        assert answer.status_code == 400 and answer.json["status"] == "error", bad
