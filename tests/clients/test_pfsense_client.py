"""PfSenseClient against the loopback pfSense REST API v2 simulator."""
import socket
import time

import pytest
import requests

from oxnack_admin.clients.errors import PermanentRemoteError, TransientRemoteError
from oxnack_admin.clients.pfsense import PfSenseClient
from oxnack_admin.simulator.pfsense import PfSenseSimulator

MAC = "BC:24:11:69:00:01"


@pytest.fixture
def sim():
    with PfSenseSimulator() as simulator:
        yield simulator


@pytest.fixture
def client(sim):
    return PfSenseClient(sim.url, sim.api_key, timeout=2)


# --- DHCP static mappings ------------------------------------------------------------------

def test_static_mapping_create_find_delete(sim, client):
    mapping_id = client.add_static_mapping(MAC, "10.0.0.105", "vm105", "oxnack vm 105")

    [post] = sim.calls_to("POST", r"/dhcp_server/static_mapping$")
    assert post.params == {"parent_id": "lan", "mac": MAC, "ipaddr": "10.0.0.105", "hostname": "vm105",
                           "descr": "oxnack vm 105", "arp_table_static_entry": True}
    found = client.find_static_mapping_by_mac(MAC.lower())
    assert found["id"] == mapping_id and found["ipaddr"] == "10.0.0.105"
    assert sim.calls_to("GET", r"/static_mappings$")[0].params == {"parent_id": "lan"}

    client.delete_static_mapping(mapping_id)

    assert sim.static_mappings == []
    assert sim.calls_to("DELETE", r"/static_mapping$")[0].params == {"id": str(mapping_id), "parent_id": "lan"}
    assert client.find_static_mapping_by_mac(MAC) is None


def test_apply_dhcp_makes_changes_live(sim, client):
    client.add_static_mapping(MAC, "10.0.0.105", "vm105", "vm 105")
    assert sim.pending == {"dhcpd"}

    client.apply_dhcp()

    assert sim.applied == {"dhcp": 1, "firewall": 0} and sim.pending == set()


def test_bad_mac_is_a_permanent_error_with_pfsense_message(client):
    with pytest.raises(PermanentRemoteError, match="mac"):
        client.add_static_mapping("not-a-mac", "10.0.0.105", "vm105", "vm 105")


# --- 1:1 NAT -------------------------------------------------------------------------------

def test_one_to_one_nat_create_find_delete_and_apply(sim, client):
    nat_id = client.add_one_to_one_nat("203.0.113.105", "10.0.0.105", "oxnack vm 105")

    assert sim.calls_to("POST", r"/one_to_one/mapping$")[0].params == {
        "interface": "wan", "external": "203.0.113.105", "source": "10.0.0.105", "destination": "any",
        "descr": "oxnack vm 105"}
    assert client.find_nat_by_descr("oxnack vm 105")["id"] == nat_id
    client.apply_nat()
    assert sim.applied["firewall"] == 1 and sim.pending == set()

    client.delete_one_to_one_nat(descr="oxnack vm 105")

    assert sim.nat_mappings == [] and sim.pending == {"natconf"}


# --- firewall rules ------------------------------------------------------------------------

def test_wan_pass_rule_sends_null_protocol_and_a_list_of_interfaces(sim, client):
    rule_id = client.add_wan_pass_rule("203.0.113.105", "oxnack vm 105")

    [post] = sim.calls_to("POST", r"/firewall/rule$")
    assert post.params == {"type": "pass", "interface": ["wan"], "ipprotocol": "inet", "protocol": None,
                           "source": "any", "destination": "203.0.113.105", "descr": "oxnack vm 105"}
    assert rule_id == 2  # after the two default LAN rules
    assert client.find_rule_by_descr("oxnack vm 105")["destination"] == "203.0.113.105"
    client.apply_firewall()
    assert sim.applied == {"dhcp": 0, "firewall": 1}


def test_simulator_rejects_protocol_any_like_v2(sim):
    answer = requests.post(f"{sim.url}/api/v2/firewall/rule", timeout=2, headers={"X-API-Key": sim.api_key},
                           json={"type": "pass", "interface": ["wan"], "ipprotocol": "inet", "protocol": "any",
                                 "source": "any", "destination": "203.0.113.105", "descr": "old client"})

    body = answer.json()
    assert answer.status_code == 400
    assert (body["code"], body["status"], body["response_id"]) == (400, "bad request", "FIELD_INVALID_CHOICE")
    assert "protocol" in body["message"] and body["data"] == []


def test_simulator_requires_fields(sim):
    answer = requests.post(f"{sim.url}/api/v2/firewall/nat/one_to_one/mapping", timeout=2,
                           headers={"X-API-Key": sim.api_key}, json={"interface": "wan", "source": "10.0.0.5"})

    assert answer.status_code == 400 and answer.json()["message"] == "Field `external` is required."


def test_ids_shift_so_deleting_by_description_hits_the_right_rule(sim, client):
    first = client.add_wan_pass_rule("203.0.113.1", "vm 1")
    second = client.add_wan_pass_rule("203.0.113.2", "vm 2")

    client.delete_rule(descr="vm 1")
    client.delete_rule(descr="vm 2")  # its stored id (`second`) now points past the end

    assert (first, second) == (2, 3)
    assert [rule["descr"] for rule in sim.rules] == ["Default allow LAN to any rule",
                                                     "Default allow LAN IPv6 to any rule"]


def test_delete_of_something_already_gone_is_fine(sim, client):
    client.delete_rule(42)
    client.delete_one_to_one_nat(7)
    client.delete_static_mapping(3)
    client.delete_rule(descr="never created")
    client.delete_static_mapping(mac=MAC)

    assert len(sim.calls_to("DELETE", r".")) == 3


# --- auth and failures ---------------------------------------------------------------------

def test_api_key_is_required(sim):
    answer = requests.get(f"{sim.url}/api/v2/firewall/rules", timeout=2)
    assert answer.status_code == 401 and answer.json()["response_id"] == "AUTH_AUTHENTICATION_FAILED"

    with pytest.raises(PermanentRemoteError, match="401") as caught:
        PfSenseClient(sim.url, "wrong-key").find_rule_by_descr("anything")
    assert "wrong-key" not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 408])
def test_server_errors_are_transient(sim, client, status):
    sim.fail_next("POST", r"/firewall/rule$", status=status)

    with pytest.raises(TransientRemoteError, match=str(status)):
        client.add_wan_pass_rule("203.0.113.105", "vm 105")
    client.add_wan_pass_rule("203.0.113.105", "vm 105")

    assert [rule["descr"] for rule in sim.rules][-1] == "vm 105"


def test_delete_errors_other_than_404_still_raise(sim, client):
    sim.fail_next("DELETE", r"/firewall/rule$", status=403)

    with pytest.raises(PermanentRemoteError, match="403"):
        client.delete_rule(0)


def test_retry_after_a_timeout_can_reuse_the_object(sim):
    client = PfSenseClient(sim.url, sim.api_key, timeout=0.2)
    sim.delay_next(r"/one_to_one/mapping$", 0.5)

    with pytest.raises(TransientRemoteError, match="in time"):
        client.add_one_to_one_nat("203.0.113.105", "10.0.0.105", "vm 105")

    # pfSense finishes the work the client gave up on; the retried step then finds it.
    deadline = time.monotonic() + 2
    while not sim.nat_mappings and time.monotonic() < deadline:
        time.sleep(0.01)
    found = PfSenseClient(sim.url, sim.api_key, timeout=2).find_nat_by_descr("vm 105")
    assert found is not None and found["external"] == "203.0.113.105"


def test_unreachable_firewall_is_transient():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(TransientRemoteError, match="cannot reach"):
        PfSenseClient(f"http://127.0.0.1:{port}", "key", timeout=1).apply_dhcp()
