"""Configuration loading: defaults, then the instance config file, then the environment."""
import os
from pathlib import Path

from flask import Flask

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


# Environment variable -> (config key, parser). Operators' scripts rely on these names.
ENVIRONMENT = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "REDIS_URL": ("REDIS_URL", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "OXNACK_ENV": ("OXNACK_ENV", str),
    "OXNACK_LOG_LEVEL": ("LOG_LEVEL", str),
    "OXNACK_PROXY_FIX_X_FOR": ("PROXY_FIX_X_FOR", int),
    "OXNACK_CORS_ORIGINS": ("CORS_ORIGINS", _csv),
    "OXNACK_COOKIE_SECURE": ("COOKIE_SECURE", _bool),
    "OXNACK_RATELIMIT_ENABLED": ("RATELIMIT_ENABLED", _bool),
    "OXNACK_SMTP_HOST": ("SMTP_HOST", str),
    "OXNACK_SMTP_PORT": ("SMTP_PORT", int),
    "OXNACK_SMTP_STARTTLS": ("SMTP_STARTTLS", _bool),
    "OXNACK_SMTP_USER": ("SMTP_USER", str),
    "OXNACK_SMTP_PASSWORD": ("SMTP_PASSWORD", str),
    "OXNACK_MAIL_SENDER": ("MAIL_SENDER", str),
    "OXNACK_MAIL_RELAY_PASSWORD": ("MAIL_RELAY_PASSWORD", str),
    "OXNACK_HYPERVISOR": ("HYPERVISOR", str),
    "OXNACK_PROXMOX_URL": ("PROXMOX_URL", str),
    "OXNACK_PROXMOX_TOKEN": ("PROXMOX_TOKEN", str),
    "OXNACK_PROXMOX_USER": ("PROXMOX_USER", str),
    "OXNACK_PROXMOX_PASSWORD": ("PROXMOX_PASSWORD", str),
    "OXNACK_PROXMOX_NODE": ("PROXMOX_NODE", str),
    "OXNACK_PROXMOX_VERIFY_TLS": ("PROXMOX_VERIFY_TLS", _bool),
    "OXNACK_PFSENSE_URL": ("PFSENSE_URL", str),
    "OXNACK_PFSENSE_API_KEY": ("PFSENSE_API_KEY", str),
    "OXNACK_PLATEGA_URL": ("PLATEGA_URL", str),
    "OXNACK_PLATEGA_MERCHANT_ID": ("PLATEGA_MERCHANT_ID", str),
    "OXNACK_PLATEGA_SECRET": ("PLATEGA_SECRET", str),
    "OXNACK_SOCKS_API_URL": ("SOCKS_API_URL", str),
    "OXNACK_SOCKS_API_TOKEN": ("SOCKS_API_TOKEN", str),
    "OXNACK_UPLOAD_FOLDER": ("UPLOAD_FOLDER", str),
    "OXNACK_MEDIA_URL_BASE": ("MEDIA_URL_BASE", str),
}


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or malformed; the message names the setting."""


def load_config(app: Flask, overrides: dict | None = None) -> None:
    """Defaults, then instance/config.py (or OXNACK_CONFIG), then environment, then overrides."""
    app.config.from_pyfile(str(DEFAULTS_FILE))
    instance_file = os.environ.get("OXNACK_CONFIG") or os.path.join(app.instance_path, "config.py")
    app.config.from_pyfile(instance_file, silent=True)
    for variable, (key, parse) in ENVIRONMENT.items():
        if variable in os.environ:
            try:
                app.config[key] = parse(os.environ[variable])
            except ValueError as error:
                raise ConfigurationError(f"{variable}: {error}") from None
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = psycopg2_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SESSION_COOKIE_SECURE"] = app.config["COOKIE_SECURE"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", _limiter_storage(app.config["REDIS_URL"]))
    check_production_safety(app.config)


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


def check_production_safety(config) -> None:
    """Refuse to run production on secrets that anyone reading this repository knows."""
    if config["OXNACK_ENV"] != "production" or config.get("TESTING"):
        return
    missing = []
    if config["SECRET_KEY"] in ("", "change-me"):
        missing.append("SECRET_KEY (still the default)")
    if not config["MAIL_RELAY_PASSWORD"]:
        missing.append("MAIL_RELAY_PASSWORD / OXNACK_MAIL_RELAY_PASSWORD (empty)")
    if missing:
        raise ConfigurationError(
            "refusing to start in production; set: " + ", ".join(missing)
            + " (or OXNACK_ENV=development for local work)"
        )
