"""A server's card shows its last hour's usage; Reinstall goes OS → Confirm → the service of POST /reinstall_server."""
from sqlalchemy import select

from oxnack_admin.extensions import db
from oxnack_admin.models import ProvisioningRun, Server
from oxnack_admin.models.enums import RunKind
from oxnack_admin.services.fleet import hypervisor
from oxnack_admin.services.fleet.release import network_descr
from tests.telegram.conftest import SECRET
from tests.telegram.test_bot import TG, _callback_data_fits, _legacy_customer


def _rented(sold, owner) -> Server:
    """The owner's running server 301 with the pfSense objects made at order time (as tests/vm's `rented`)."""
    server = sold(owner, 301, ips=["198.51.100.31"], lan_ip="192.168.2.31")
    client, descr = hypervisor.pfsense_client(), network_descr(301)
    server.network_refs = {
        "dhcp_static_mapping": {"id": client.add_static_mapping(server.mac, server.lan_ip, server.name, descr)},
        "one_to_one_nat": {"id": client.add_one_to_one_nat(server.first_ip, server.lan_ip, descr)},
        "wan_pass_rule": {"id": client.add_wan_pass_rule(server.lan_ip, descr)}}
    db.session.commit()
    return server


def _runs() -> list[ProvisioningRun]:
    db.session.expire_all()
    return db.session.scalars(select(ProvisioningRun).where(ProvisioningRun.kind == RunKind.REINSTALL)).all()


def test_the_card_shows_usage_and_reinstall_runs_once_however_often_confirmed(client, deliver, telegram, sold, proxmox,
                                                                               pfsense, work):
    def handled_only(update: dict) -> None:
        """The bot handles the update and answers; the reinstall run itself stays queued (a run in flight)."""
        client.post("/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        work("telegram")

    user = _legacy_customer(balance=100)
    _rented(sold, user)
    proxmox.rrd_now = 1_800_000_000
    deliver(telegram.user_message(TG, "/servers"))
    card = telegram.last_message(TG)
    assert "Last hour: CPU " in card["text"] and " of 2 GB, network ↓" in card["text"]
    assert proxmox.calls_to("GET", r"/qemu/301/rrddata$")[-1].params == {"timeframe": "hour", "cf": "AVERAGE"}
    handled_only(telegram.press(TG, "Reinstall", message=card))
    handled_only(telegram.press(TG, "debian"))
    confirm = telegram.last_message(TG)
    assert "Reinstall server №301 with debian?" in confirm["text"]
    handled_only(telegram.press(TG, "Confirm", message=confirm))
    assert "Reinstall of server №301 with debian started" in telegram.last_message(TG)["text"]
    handled_only(telegram.press(TG, "Confirm", message=confirm))  # a double press
    assert "already started or cancelled" in telegram.last_message(TG)["text"]
    handled_only(telegram.press(TG, "Reinstall", message=card))  # again while the first runs: refused clearly
    handled_only(telegram.press(TG, "debian"))
    handled_only(telegram.press(TG, "Confirm"))
    assert telegram.last_message(TG)["text"] == "Not possible: server busy."
    assert len(_runs()) == 1
    work()  # the run: the new root password reaches this customer without mail here, as a secret
    assert "Server №301 is reinstalled with debian" in telegram.last_message(TG)["text"]
    assert [run.state for run in _runs()] == ["done"]
    assert telegram.unanswered_callbacks() == []
    _callback_data_fits(telegram)


def test_a_stale_reinstall_button_of_a_server_no_longer_theirs(deliver, telegram, sold, proxmox, pfsense):
    user = _legacy_customer(balance=100)
    server = _rented(sold, user)
    deliver(telegram.user_message(TG, "/servers"))
    card = telegram.last_message(TG)
    deliver(telegram.press(TG, "Reinstall", message=card))
    choice = telegram.last_message(TG)
    server.username, server.busy = "someone-else", False
    db.session.commit()
    deliver(telegram.press(TG, "debian", message=choice))
    assert "not yours any more" in telegram.last_message(TG)["text"]
    deliver(telegram.user_press(TG, card, "s:301:ro:99"))
    assert "out of date" in telegram.last_message(TG)["text"]
    assert _runs() == [] and telegram.unanswered_callbacks() == []


def test_usage_unavailable_says_so_and_the_card_still_comes(deliver, telegram, sold, proxmox, pfsense, job_config):
    user = _legacy_customer(balance=100)
    _rented(sold, user)
    job_config(PROXMOX_URL="http://127.0.0.1:9")  # nothing listens there
    deliver(telegram.user_message(TG, "/servers"))
    card = telegram.last_message(TG)
    assert "№301" in card["text"] and "Usage is unavailable right now." in card["text"]
    assert "Reinstall" in telegram.buttons(card)
