"""The calls on the VM itself in the OpenAPI document: usage, reinstall and a browser console link."""
from flask import current_app

from . import parts as s

NUMBER = {"type": "number"}
SUCCESS = {"type": "string", "enum": ["success"]}
# A point carries a field only when Proxmox recorded it (a gap stays a gap, never 0); `time` always.
POINT = s.obj(["time"], {"time": {"type": "integer", "description": "Unix seconds"}, "cpu": NUMBER,
                          "maxcpu": NUMBER, "mem": NUMBER, "maxmem": NUMBER, "netin": NUMBER, "netout": NUMBER,
                          "diskread": NUMBER, "diskwrite": NUMBER})


def paths() -> dict:
    """/server_stats, /reinstall_server and /console_link, with this deployment's OS names."""
    error = s.STATUS_ERROR
    owned = {401: "unlogin", 403: "server suspended", 404: "not found (unknown or not yours)"}
    server_body = {"server_id": s.SERVER_ID}
    return {
        "/server_stats": {"get": {
            "summary": f"A server's usage from Proxmox rrddata (cf=AVERAGE), cached "
                       f"{current_app.config['STATS_CACHE_SECONDS']} s", "tags": ["vm"], "security": s.SESSION,
            "parameters": [
                {"name": "server_id", "in": "query", "required": True, "schema": s.SERVER_ID},
                {"name": "timeframe", "in": "query", "required": True,
                 "schema": {"type": "string", "enum": ["hour", "day", "week", "month"]}}],
            "responses": {"200": s.answer(s.obj(["status", "timeframe", "points"], {
                              "status": {"type": "string", "enum": ["good"]},
                              "timeframe": {"type": "string", "enum": ["hour", "day", "week", "month"]},
                              "points": {"type": "array", "items": POINT}}), "Points, oldest first"),
                          **s.errors(error, {400: "server_id required / bad timeframe", **owned,
                                              502: "stats unavailable (Proxmox did not answer)"})}}},
        "/reinstall_server": {"post": {
            "summary": "Reinstall an owned server from an OS template (same VMID, network, period and price; "
                       "a new root password is delivered)", "tags": ["vm"], "security": s.SESSION,
            "requestBody": s.body(s.obj(["server_id", "os"], {
                **server_body, "os": {"type": "string", "enum": sorted(current_app.config["OS_TEMPLATES"])}},
                closed=False)),
            "responses": {"202": s.answer(s.obj(["status", "message"], {
                              "status": SUCCESS, "message": {"type": "string", "enum": ["reinstall started"]}}),
                              "Started; /user_services shows status reinstalling until it is done"),
                          **s.errors(error, {400: "server_id required / bad os", **owned,
                                              409: "server busy (a provisioning, power action, wipe or reinstall "
                                                   "of it is running)",
                                              413: "Body over MAX_CONTENT_LENGTH"})}}},
        "/console_link": {"post": {
            "summary": f"A single-use link to the server's browser console, valid "
                       f"{current_app.config['CONSOLE_LINK_SECONDS']} s", "tags": ["vm"], "security": s.SESSION,
            "requestBody": s.body(s.obj(["server_id"], server_body, closed=False)),
            "responses": {"200": s.answer(s.obj(["status", "url", "expires_at"], {
                              "status": SUCCESS, "url": {"type": "string", "format": "uri"},
                              "expires_at": {"type": "string", "format": "date-time"}}),
                              "An absolute URL on this origin; it opens a noVNC page once"),
                          **s.errors(error, {400: "server_id required", **owned,
                                              409: "server busy (not active: provisioning, reinstalling...)",
                                              413: "Body over MAX_CONTENT_LENGTH"})}}},
    }
