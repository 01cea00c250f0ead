"""pfSense REST API v2 client: DHCP static mappings, 1:1 NAT and WAN pass rules.

pfSense v2 object ids are array indices that shift when an earlier object is deleted, so a
stored id can point at someone else's object later. The delete methods therefore accept the
object's identity (MAC or description) and look the current id up before deleting.
"""
import logging

import requests

from .errors import PermanentRemoteError, error_for_status, short, transport_error

log = logging.getLogger(__name__)

STATIC_MAPPING = "/api/v2/services/dhcp_server/static_mapping"
STATIC_MAPPINGS = "/api/v2/services/dhcp_server/static_mappings"
DHCP_APPLY = "/api/v2/services/dhcp_server/apply"
NAT_MAPPING = "/api/v2/firewall/nat/one_to_one/mapping"
NAT_MAPPINGS = "/api/v2/firewall/nat/one_to_one/mappings"
RULE = "/api/v2/firewall/rule"
RULES = "/api/v2/firewall/rules"
FIREWALL_APPLY = "/api/v2/firewall/apply"
DHCP_INTERFACE = "lan"
WAN = "wan"


class PfSenseClient:
    """The few pfSense calls provisioning needs, with retry-friendly errors."""

    def __init__(self, url: str, api_key: str, verify_tls: bool = True, timeout: float = 15):
        if not url.startswith(("http://", "https://")):
            raise ValueError("pfSense URL must start with http:// or https://")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers.update({"X-API-Key": api_key, "Accept": "application/json"})
        self._session.verify = verify_tls

    def __repr__(self) -> str:
        return f"PfSenseClient({self.url!r})"

    # --- DHCP static mappings --------------------------------------------------------------

    def add_static_mapping(self, mac: str, ipaddr: str, hostname: str, descr: str) -> int:
        """Reserve `ipaddr` for `mac` on the LAN DHCP server (with a static ARP entry); returns its id."""
        data = self._request("POST", STATIC_MAPPING, "add the DHCP static mapping", json={
            "parent_id": DHCP_INTERFACE, "mac": mac, "ipaddr": ipaddr, "hostname": hostname,
            "descr": descr, "arp_table_static_entry": True})
        return self._id_of(data, "DHCP static mapping")

    def find_static_mapping_by_mac(self, mac: str) -> dict | None:
        """The LAN static mapping for this MAC (with its current `id`), or None."""
        mappings = self._list(STATIC_MAPPINGS, "list DHCP static mappings", {"parent_id": DHCP_INTERFACE})
        return next((m for m in mappings if str(m.get("mac", "")).lower() == mac.lower()), None)

    def delete_static_mapping(self, object_id: int | None = None, *, mac: str | None = None) -> None:
        """Delete a LAN static mapping by id, or safer by MAC; already gone is fine."""
        if mac is not None:
            found = self.find_static_mapping_by_mac(mac)
            if found is None:
                return
            object_id = found["id"]
        self._delete(STATIC_MAPPING, "DHCP static mapping", object_id, parent_id=DHCP_INTERFACE)

    def apply_dhcp(self) -> None:
        """Make pending DHCP server changes live."""
        self._request("POST", DHCP_APPLY, "apply DHCP changes", json={})

    # --- 1:1 NAT ---------------------------------------------------------------------------

    def add_one_to_one_nat(self, external: str, source: str, descr: str) -> int:
        """Map public `external` to private `source` on WAN; returns the mapping id."""
        data = self._request("POST", NAT_MAPPING, "add the 1:1 NAT mapping", json={
            "interface": WAN, "external": external, "source": source, "destination": "any",
            "descr": descr})
        return self._id_of(data, "1:1 NAT mapping")

    def find_nat_by_descr(self, descr: str) -> dict | None:
        """The 1:1 NAT mapping with this description (and its current `id`), or None."""
        return self._find_by_descr(NAT_MAPPINGS, "list 1:1 NAT mappings", descr)

    def delete_one_to_one_nat(self, object_id: int | None = None, *, descr: str | None = None) -> None:
        """Delete a 1:1 NAT mapping by id, or safer by description; already gone is fine."""
        if descr is not None:
            found = self.find_nat_by_descr(descr)
            if found is None:
                return
            object_id = found["id"]
        self._delete(NAT_MAPPING, "1:1 NAT mapping", object_id)

    # --- firewall rules --------------------------------------------------------------------

    def add_wan_pass_rule(self, destination: str, descr: str) -> int:
        """Pass any IPv4 traffic from anywhere to `destination` on WAN; returns the rule id."""
        data = self._request("POST", RULE, "add the WAN pass rule", json={
            "type": "pass",
            "interface": [WAN],  # v2 takes a list of interfaces
            "ipprotocol": "inet",
            "protocol": None,  # v2 spells "any protocol" as null; "any" is rejected
            "source": "any",
            "destination": destination,
            "descr": descr,
        })
        return self._id_of(data, "firewall rule")

    def find_rule_by_descr(self, descr: str) -> dict | None:
        """The firewall rule with this description (and its current `id`), or None."""
        return self._find_by_descr(RULES, "list firewall rules", descr)

    def delete_rule(self, object_id: int | None = None, *, descr: str | None = None) -> None:
        """Delete a firewall rule by id, or safer by description; already gone is fine."""
        if descr is not None:
            found = self.find_rule_by_descr(descr)
            if found is None:
                return
            object_id = found["id"]
        self._delete(RULE, "firewall rule", object_id)

    def apply_firewall(self) -> None:
        """Reload the filter, which also applies pending NAT changes."""
        self._request("POST", FIREWALL_APPLY, "apply firewall changes", json={})

    def apply_nat(self) -> None:
        """Apply pending NAT changes (v2 applies NAT and rules through one firewall endpoint)."""
        self.apply_firewall()

    # --- plumbing --------------------------------------------------------------------------

    def _find_by_descr(self, path: str, what: str, descr: str) -> dict | None:
        return next((item for item in self._list(path, what) if item.get("descr") == descr), None)

    def _list(self, path: str, what: str, params: dict | None = None) -> list[dict]:
        data = self._request("GET", path, what, params=params)
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise PermanentRemoteError(f"pfSense sent a list we cannot read ({what})")
        return data

    def _delete(self, path: str, what: str, object_id: int | None, **params) -> None:
        if object_id is None:
            raise ValueError(f"deleting a {what} needs its id or its identity")
        log.info("pfsense: delete %s %s", what, object_id)
        self._request("DELETE", path, f"delete the {what}", params={"id": object_id, **params},
                      missing_ok=True)

    @staticmethod
    def _id_of(data, what: str) -> int:
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise PermanentRemoteError(f"pfSense created the {what} but sent no id")
        return data["id"]

    def _request(self, method: str, path: str, what: str, *, params=None, json=None,
                 missing_ok: bool = False):
        """Send one call; return the `data` of the v2 envelope or raise a RemoteError subclass."""
        try:
            response = self._session.request(method, self.url + path, params=params, json=json,
                                             timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise transport_error(exc, "pfSense", self.url, what) from exc
        if response.status_code == 404 and missing_ok:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            detail = body.get("message") if isinstance(body, dict) else None
            raise error_for_status(response.status_code, f"pfSense refused to {what}: HTTP "
                                   f"{response.status_code} {short(detail or response.reason or '')}".rstrip())
        if not isinstance(body, dict) or "data" not in body:
            raise PermanentRemoteError(f"pfSense sent a reply we cannot read ({what})")
        return body["data"]

