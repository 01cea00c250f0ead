"""A pfSense REST API v2 stand-in: static mappings, 1:1 NAT, firewall rules and apply.

Like the real package, object ids are array indices: deleting an object shifts the ids of the
ones after it. Two default LAN rules exist from the start, as on a fresh pfSense.
"""
import copy
import re
import secrets
import time

from . import LoopbackSimulator, Reply

RULE_PROTOCOLS = {"tcp", "udp", "tcp/udp", "icmp", "esp", "ah", "gre", "ipv6", "igmp", "pim", "ospf",
                  "carp", "pfsync"}
STATUS_WORDS = {200: "ok", 400: "bad request", 401: "unauthorized", 404: "not found",
                405: "method not allowed", 409: "conflict", 500: "server error", 503: "unavailable"}
MAC = re.compile(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", re.IGNORECASE)


class _Invalid(Exception):
    def __init__(self, status: int, response_id: str, message: str):
        super().__init__(message)
        self.status, self.response_id, self.message = status, response_id, message


class PfSenseSimulator(LoopbackSimulator):
    """Serve a fake pfSense with the REST API v2 package; inspect state through the accessors."""

    def __init__(self, api_key: str = "simulator-api-key", host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self._api_key = api_key
        self._mappings: dict[str, list[dict]] = {"lan": []}  # DHCP server interface -> static maps
        self._nat: list[dict] = []
        self._rules: list[dict] = [
            self._stored_rule({"type": "pass", "interface": ["lan"], "ipprotocol": "inet", "protocol": None,
                               "source": "lan", "destination": "any",
                               "descr": "Default allow LAN to any rule"}),
            self._stored_rule({"type": "pass", "interface": ["lan"], "ipprotocol": "inet6", "protocol": None,
                               "source": "lan", "destination": "any",
                               "descr": "Default allow LAN IPv6 to any rule"}),
        ]
        self._applied = {"dhcp": 0, "firewall": 0}
        self._dirty: set[str] = set()
        self._routes = {
            ("POST", "/api/v2/services/dhcp_server/static_mapping"): self._add_mapping,
            ("DELETE", "/api/v2/services/dhcp_server/static_mapping"): self._delete_mapping,
            ("GET", "/api/v2/services/dhcp_server/static_mappings"): self._list_mappings,
            ("POST", "/api/v2/firewall/nat/one_to_one/mapping"): self._add_nat,
            ("DELETE", "/api/v2/firewall/nat/one_to_one/mapping"): lambda p: self._delete(self._nat, p, "natconf"),
            ("GET", "/api/v2/firewall/nat/one_to_one/mappings"): lambda p: self._indexed(self._nat),
            ("POST", "/api/v2/firewall/rule"): self._add_rule,
            ("DELETE", "/api/v2/firewall/rule"): lambda p: self._delete(self._rules, p, "filter"),
            ("GET", "/api/v2/firewall/rules"): lambda p: self._indexed(self._rules),
            ("POST", "/api/v2/services/dhcp_server/apply"): lambda p: self._apply("dhcp", {"dhcpd"}),
            ("GET", "/api/v2/services/dhcp_server/apply"): lambda p: {"applied": "dhcpd" not in self._dirty},
            ("POST", "/api/v2/firewall/apply"): lambda p: self._apply("firewall", {"natconf", "filter"}),
            ("GET", "/api/v2/firewall/apply"): lambda p: self._firewall_status(),
        }

    @property
    def api_key(self) -> str:
        """The key clients must send in X-API-Key."""
        return self._api_key

    # --- accessors for tests and the demo --------------------------------------------------

    @property
    def static_mappings(self) -> list[dict]:
        """All DHCP static mappings, each with its `parent_id` and current `id`."""
        with self._lock:
            return [item for parent, items in self._mappings.items()
                    for item in self._indexed(items, parent_id=parent)]

    @property
    def nat_mappings(self) -> list[dict]:
        """All 1:1 NAT mappings with their current `id`."""
        with self._lock:
            return self._indexed(self._nat)

    @property
    def rules(self) -> list[dict]:
        """All firewall rules (defaults included) with their current `id`."""
        with self._lock:
            return self._indexed(self._rules)

    @property
    def applied(self) -> dict:
        """How many times each apply endpoint was POSTed: {"dhcp": n, "firewall": n}."""
        with self._lock:
            return dict(self._applied)

    @property
    def pending(self) -> set[str]:
        """Subsystems with changes not applied yet (dhcpd, natconf, filter)."""
        with self._lock:
            return set(self._dirty)

    # --- HTTP ------------------------------------------------------------------------------

    def error_reply(self, status: int, message: str, response_id: str = "SIMULATED_ERROR") -> Reply:
        return Reply(status, {"code": status, "status": STATUS_WORDS.get(status, "error"),
                              "response_id": response_id, "message": message, "data": []})

    def route(self, method, path, params, headers) -> Reply:
        key = headers.get("X-API-Key", "")
        if not secrets.compare_digest(key.encode(), self._api_key.encode()):
            return self.error_reply(401, "Authentication failed.", "AUTH_AUTHENTICATION_FAILED")
        handler = self._routes.get((method, path.rstrip("/")))
        if handler is None:
            known = any(p == path.rstrip("/") for _, p in self._routes)
            return (self.error_reply(405, f"Method `{method}` is not allowed.", "ENDPOINT_METHOD_NOT_ALLOWED")
                    if known else self.error_reply(404, "Endpoint not found.", "ENDPOINT_NOT_FOUND"))
        try:
            with self._lock:
                data = handler(params)
        except _Invalid as exc:
            return self.error_reply(exc.status, exc.message, exc.response_id)
        return Reply(200, {"code": 200, "status": "ok", "response_id": "SUCCESS", "message": "",
                           "data": data})

    # --- handlers (called with the lock held) ----------------------------------------------

    def _add_mapping(self, params) -> dict:
        self._require(params, "parent_id", "mac")
        items = self._mappings.get(params["parent_id"])
        if items is None:
            raise _Invalid(404, "MODEL_PARENT_NOT_FOUND", f"Parent with ID `{params['parent_id']}` does not exist.")
        if not MAC.fullmatch(str(params["mac"])):
            raise _Invalid(400, "MAC_ADDRESS_VALIDATOR_FAILED", "Field `mac` must be a valid MAC address.")
        if any(m["mac"].lower() == str(params["mac"]).lower() for m in items):
            raise _Invalid(400, "FIELD_MUST_BE_UNIQUE", "Field `mac` must be unique.")
        stored = {"mac": params["mac"], "ipaddr": params.get("ipaddr"), "hostname": params.get("hostname"),
                  "descr": params.get("descr", ""),
                  "arp_table_static_entry": bool(params.get("arp_table_static_entry", False))}
        items.append(stored)
        self._dirty.add("dhcpd")
        return {"id": len(items) - 1, "parent_id": params["parent_id"], **copy.deepcopy(stored)}

    def _list_mappings(self, params) -> list[dict]:
        parents = [params["parent_id"]] if params.get("parent_id") else list(self._mappings)
        return [item for parent in parents for item in self._indexed(self._mappings.get(parent, []), parent)]

    def _delete_mapping(self, params) -> dict:
        self._require(params, "parent_id")
        items = self._mappings.get(params["parent_id"])
        if items is None:
            raise _Invalid(404, "MODEL_PARENT_NOT_FOUND", f"Parent with ID `{params['parent_id']}` does not exist.")
        return self._delete(items, params, "dhcpd")

    def _add_nat(self, params) -> dict:
        self._require(params, "interface", "external", "source", "destination")
        stored = {key: params.get(key) for key in ("interface", "external", "source", "destination")}
        stored.update(descr=params.get("descr", ""), disabled=False, nobinat=False, natreflection=None,
                      ipprotocol="inet")
        self._nat.append(stored)
        self._dirty.add("natconf")
        return {"id": len(self._nat) - 1, **copy.deepcopy(stored)}

    def _add_rule(self, params) -> dict:
        self._require(params, "type", "interface", "ipprotocol", "source", "destination")
        if params["type"] not in ("pass", "block", "reject"):
            raise _Invalid(400, "FIELD_INVALID_CHOICE", "Field `type` must be one of [pass, block, reject].")
        if not isinstance(params["interface"], list):
            raise _Invalid(400, "FIELD_INVALID_MANY_VALUE", "Field `interface` must be of type `array`.")
        if len(params["interface"]) > 1 and not params.get("floating"):
            raise _Invalid(400, "FIREWALL_RULE_MULTIPLE_INTERFACE_WITHOUT_FLOATING",
                           "Field `interface` cannot contain more than one value unless `floating` is enabled.")
        if params["ipprotocol"] not in ("inet", "inet6", "inet46"):
            raise _Invalid(400, "FIELD_INVALID_CHOICE", "Field `ipprotocol` must be one of [inet, inet6, inet46].")
        if params.get("protocol") is not None and params["protocol"] not in RULE_PROTOCOLS:
            # The old code sent "any"; v2 wants null for "any protocol".
            raise _Invalid(400, "FIELD_INVALID_CHOICE",
                           f"Field `protocol` must be one of [{', '.join(sorted(RULE_PROTOCOLS))}].")
        stored = self._stored_rule(params)
        self._rules.append(stored)
        self._dirty.add("filter")
        return {"id": len(self._rules) - 1, **copy.deepcopy(stored)}

    def _delete(self, items: list, params, subsystem: str) -> dict:
        self._require(params, "id")
        try:
            index = int(params["id"])
        except (TypeError, ValueError):
            raise _Invalid(400, "FIELD_INVALID_TYPE", "Field `id` must be of type `integer`.") from None
        if not 0 <= index < len(items):
            raise _Invalid(404, "MODEL_OBJECT_NOT_FOUND", f"Object with ID `{index}` does not exist.")
        removed = items.pop(index)
        self._dirty.add(subsystem)
        return {"id": index, **removed}

    def _apply(self, kind: str, subsystems: set[str]) -> dict:
        self._applied[kind] += 1
        self._dirty -= subsystems
        return self._firewall_status() if kind == "firewall" else {"applied": True}

    def _firewall_status(self) -> dict:
        pending = sorted(self._dirty & {"natconf", "filter"})
        return {"applied": not pending, "pending_subsystems": pending}

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _require(params: dict, *names: str) -> None:
        for name in names:
            if params.get(name) in (None, ""):
                raise _Invalid(400, "FIELD_IS_REQUIRED", f"Field `{name}` is required.")

    @staticmethod
    def _indexed(items: list, parent_id: str | None = None) -> list[dict]:
        extra = {} if parent_id is None else {"parent_id": parent_id}
        return [{"id": index, **extra, **copy.deepcopy(item)} for index, item in enumerate(items)]

    @staticmethod
    def _stored_rule(params: dict) -> dict:
        now = int(time.time())
        return {"type": params["type"], "interface": list(params["interface"]),
                "ipprotocol": params["ipprotocol"], "protocol": params.get("protocol"),
                "source": params["source"], "destination": params["destination"],
                "descr": params.get("descr", ""), "disabled": False, "log": False,
                "tracker": now * 1000 + secrets.randbelow(1000), "created_time": now}
