"""The server page's VM panel: usage charts drawn from Proxmox rrddata, reinstall and the browser console."""
from tests.console.conftest import HTMX
from tests.lifecycle.conftest import sold, templates  # noqa: F401
from tests.support.factories import make_user


def test_usage_charts_for_hour_day_and_week(client, as_role, sold, proxmox):
    as_role("support")
    owner = make_user("owner@example.com")
    sold(owner, 301)
    page = client.get("/console/servers/301")
    assert page.status_code == 200 and b"/console/servers/301/usage?timeframe=hour" in page.data
    for timeframe in ("hour", "day", "week"):
        response = client.get(f"/console/servers/301/usage?timeframe={timeframe}", headers=HTMX)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert html.count("<svg") == 4
        for title in ("CPU", "Memory", "Network", "Disk IO"):
            assert f"<strong>{title}</strong>" in html
        # Network has gaps (points without netin/netout): drawn as separate lines, not dropped to 0.
        network = html.split("<strong>Network</strong>")[1].split("</figure>")[0]
        assert network.count('<polyline class="line-a"') > 1
    assert {call.params["timeframe"] for call in proxmox.calls_to("GET", r"/qemu/301/rrddata$")} == \
        {"hour", "day", "week"}


def test_usage_when_proxmox_fails_says_so(client, as_role, sold, proxmox):
    as_role("support")
    sold(make_user("owner@example.com"), 301)
    proxmox.fail_next("GET", r"rrddata", 500)
    response = client.get("/console/servers/301/usage?timeframe=hour", headers=HTMX)
    assert response.status_code == 200 and "Proxmox did not answer" in response.get_data(as_text=True)


def test_staff_reinstall_from_the_server_page(client, as_role, sold, proxmox, pfsense, work):
    from oxnack_admin.extensions import db
    from oxnack_admin.models import Server
    as_role("admin")
    owner = make_user("owner@example.com")
    sold(owner, 301, ips=["198.51.100.31"], lan_ip="192.168.2.31")
    page = client.get("/console/servers/301").get_data(as_text=True)
    assert "/console/servers/301/reinstall" in page
    response = client.post("/console/servers/301/reinstall", data={"os": "debian"}, headers=HTMX)
    assert response.status_code == 200 and "Reinstall" in response.get_data(as_text=True)
    again = client.post("/console/servers/301/reinstall", data={"os": "debian"}, headers=HTMX)
    assert again.status_code == 409
    work("provisioning")
    db.session.expire_all()
    server = db.session.get(Server, 301)
    assert server.lifecycle_state == "active" and server.os == "debian"
