"""Configuration loading: defaults, then the instance config file, then the environment."""
import json
import os
import re
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from flask import Config, Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = PROJECT_ROOT / "config.example.py"


def _bool(value: str) -> bool:
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected 0 or 1, got {value!r}")


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _json(value: str):
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"expected JSON ({error.msg})") from None


def _list_like(default: list):
    """A list setting: JSON (`[30, 120]`) or comma-separated, items typed like the default's."""
    item = type(default[0]) if default else str

    def parse(value: str) -> list:
        if value.lstrip().startswith("["):
            parsed = _json(value)
            if not isinstance(parsed, list):
                raise ValueError("expected a JSON list")
            return parsed
        return [_typed(item)(part) for part in _csv(value)]
    return parse


def _typed(kind):
    """The parser for a setting whose default has this type."""
    if kind is bool:
        return _bool
    if kind is Decimal:
        def parse_decimal(value: str) -> Decimal:
            try:
                return Decimal(value.strip())
            except InvalidOperation:
                raise ValueError(f"expected a number, got {value!r}") from None
        return parse_decimal
    if kind in (int, float):
        def parse_number(value: str):
            try:
                return kind(value.strip())
            except ValueError:
                raise ValueError(f"expected {'an integer' if kind is int else 'a number'}, got {value!r}") from None
        return parse_number
    if kind is dict:
        def parse_dict(value: str) -> dict:
            parsed = _json(value)
            if not isinstance(parsed, dict):
                raise ValueError("expected a JSON object")
            return parsed
        return parse_dict
    return str


def parser_for(default):
    """How OXNACK_<NAME> is read for a setting with this default."""
    if isinstance(default, list):
        return _list_like(default)
    return _typed(type(default))


# Names operators' scripts already use, besides OXNACK_<NAME> for every setting.
ALIASES = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "OXNACK_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",  # every setting has its OXNACK_ name, this one too
    "REDIS_URL": "REDIS_URL",
    "SECRET_KEY": "SECRET_KEY",
    "OXNACK_ENV": "OXNACK_ENV",
}


def environment_overrides(defaults: dict, environ) -> dict:
    """Every setting of config.example.py from OXNACK_<NAME> (typed like its default), plus the aliases."""
    found = {}
    for key, default in defaults.items():
        variable = f"OXNACK_{key}"
        if variable in environ:
            try:
                found[key] = parser_for(default)(environ[variable])
            except ValueError as error:
                raise ConfigurationError(f"{variable}: {error}") from None
    for variable, key in ALIASES.items():
        if variable in environ:
            found[key] = environ[variable]
    return found


@cache
def _defaults_keys() -> frozenset[str]:
    """The settings config.example.py defines (its upper-case assignments)."""
    return frozenset(re.findall(r"^([A-Z][A-Z0-9_]*)\s*=", DEFAULTS_FILE.read_text(), re.MULTILINE))


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or malformed; the message names the setting."""


def load_config(app: Flask, overrides: dict | None = None) -> None:
    """Defaults, then instance/config.py (or OXNACK_CONFIG), then environment, then overrides."""
    app.config.from_pyfile(str(DEFAULTS_FILE))
    defaults = {key: value for key, value in app.config.items() if key in _defaults_keys()}
    app.config.from_pyfile(instance_file(app), silent=True)
    app.config.update(environment_overrides(defaults, os.environ))
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = psycopg2_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    app.config["SESSION_COOKIE_SECURE"] = app.config["COOKIE_SECURE"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", _limiter_storage(app.config["REDIS_URL"]))
    check_production_safety(app.config)
    refuse_private_keys(app.config)


def instance_file(app: Flask) -> str:
    """The instance config file: OXNACK_CONFIG, else instance/config.py."""
    return os.environ.get("OXNACK_CONFIG") or os.path.join(app.instance_path, "config.py")


def given_settings(app: Flask) -> dict:
    """The settings the instance config file or the environment give, with the values in force (defaults left out)."""
    from_file = Config(app.root_path)
    from_file.from_pyfile(instance_file(app), silent=True)
    from_environment = {key for key in _defaults_keys() if f"OXNACK_{key}" in os.environ}
    from_environment |= {key for variable, key in ALIASES.items() if variable in os.environ}
    return {key: app.config[key] for key in set(from_file) | from_environment if key in app.config}


def engine_options(config) -> dict:
    """SQLALCHEMY_ENGINE_OPTIONS with pool_pre_ping from DATABASE_PRE_PING (unless the options set it)."""
    return {"pool_pre_ping": config["DATABASE_PRE_PING"], **config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}


def psycopg2_url(url: str) -> str:
    """Operators write postgresql:// URLs; SQLAlchemy 2.1 would read that as psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def _limiter_storage(redis_url: str) -> str:
    # The `limits` library names unix sockets redis+unix://; redis-py names them unix://.
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


# Base58 extended private keys of every common flavour (xprv, tprv, yprv, zprv, ...): 111 characters.
PRIVATE_EXTENDED_KEY = re.compile(r"(?<![1-9A-HJ-NP-Za-km-z])[xtyzuvYZUV]prv[1-9A-HJ-NP-Za-km-z]{100,112}")


def holds_private_key(value) -> bool:
    """Whether a setting's value (text, or a list/dict of them) carries an extended private key."""
    if isinstance(value, str):
        return bool(PRIVATE_EXTENDED_KEY.search(value))
    if isinstance(value, dict):
        return any(holds_private_key(item) for item in (*value.keys(), *value.values()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(holds_private_key(item) for item in value)
    return False


def refuse_private_keys(config) -> None:
    """Crypto top-ups are watch-only: a key that can spend must never reach the server, in any setting."""
    found = sorted(key for key, value in config.items() if key.isupper() and holds_private_key(value))
    if found:
        raise ConfigurationError(
            f"refusing to start: {', '.join(found)} holds an extended PRIVATE key (xprv); the server takes "
            "only the account xpub of m/44'/60'/0' (CRYPTO_XPUB). Remove it and keep the private key offline")


def check_production_safety(config) -> None:
    """Refuse to run production on secrets that anyone reading this repository knows."""
    if config["OXNACK_ENV"] != "production" or config.get("TESTING"):
        return
    missing = []
    if config["SECRET_KEY"] in ("", "change-me"):
        missing.append("SECRET_KEY (still the default)")
    if not config["MAIL_RELAY_PASSWORD"]:
        missing.append("MAIL_RELAY_PASSWORD / OXNACK_MAIL_RELAY_PASSWORD (empty)")
    if config.get("LIFECYCLE_CLOCK_RATE", 1) != 1:
        missing.append("LIFECYCLE_CLOCK_RATE = 1 (a faster billing clock is for the soak)")
    if missing:
        raise ConfigurationError(
            "refusing to start in production; set: " + ", ".join(missing)
            + " (or OXNACK_ENV=development for local work)"
        )
