import pytest
from flask import Flask

from oxnack_admin import create_app
from oxnack_admin.settings import ConfigurationError, load_config


def production_app(monkeypatch, **environment):
    for name in ("SECRET_KEY", "OXNACK_MAIL_RELAY_PASSWORD", "OXNACK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OXNACK_CONFIG", "/nonexistent/config.py")
    monkeypatch.setenv("OXNACK_ENV", "production")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return create_app()


def test_production_refuses_the_default_secret_key(monkeypatch):
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        production_app(monkeypatch, OXNACK_MAIL_RELAY_PASSWORD="relay-pass")


def test_production_refuses_an_empty_relay_password(monkeypatch):
    with pytest.raises(ConfigurationError, match="MAIL_RELAY_PASSWORD"):
        production_app(monkeypatch, SECRET_KEY="a-real-secret-value")


def test_production_starts_with_real_secrets(monkeypatch):
    app = production_app(monkeypatch, SECRET_KEY="a-real-secret-value", OXNACK_MAIL_RELAY_PASSWORD="relay-pass")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_environment_names_reach_the_config(monkeypatch):
    app = production_app(
        monkeypatch, SECRET_KEY="s3cret-value", OXNACK_MAIL_RELAY_PASSWORD="relay",
        DATABASE_URL="postgresql://u@db.example:5432/ox", REDIS_URL="redis://cache.example:6379/2",
        OXNACK_CORS_ORIGINS="http://a.example, http://b.example", OXNACK_COOKIE_SECURE="0",
        OXNACK_SMTP_HOST="smtp.example", OXNACK_SMTP_PORT="2525", OXNACK_SMTP_STARTTLS="0",
        OXNACK_HYPERVISOR="simulator", OXNACK_PROXMOX_VERIFY_TLS="0", OXNACK_PROXMOX_TOKEN="root@pam!ox=abc",
    )
    config = app.config
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u@db.example:5432/ox"
    assert config["REDIS_URL"] == "redis://cache.example:6379/2"
    assert config["CORS_ORIGINS"] == ["http://a.example", "http://b.example"]
    assert config["COOKIE_SECURE"] is False and config["SESSION_COOKIE_SECURE"] is False
    assert (config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_STARTTLS"]) == ("smtp.example", 2525, False)
    assert config["HYPERVISOR"] == "simulator" and config["PROXMOX_VERIFY_TLS"] is False
    assert config["PROXMOX_TOKEN"] == "root@pam!ox=abc"


def test_a_malformed_boolean_names_its_variable(monkeypatch):
    with pytest.raises(ConfigurationError, match="OXNACK_COOKIE_SECURE"):
        production_app(monkeypatch, OXNACK_COOKIE_SECURE="maybe")


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(database_url, redis_url):
    from flask import request

    from tests.conftest import make_test_config

    app = create_app(make_test_config(database_url, redis_url, PROXY_FIX_X_FOR=1))
    seen = {}
    app.add_url_rule("/_whoami", "whoami", lambda: seen.setdefault("ip", request.remote_addr) or "")
    app.test_client().get("/_whoami", headers={"X-Forwarded-For": "198.51.100.7"},
                          environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert seen["ip"] == "198.51.100.7"


# strings the app must be able to read (a URL, a log level, the environment name): set by other tests
UNTYPED_BY_TEST = {"OXNACK_ENV", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "LOG_LEVEL", "MAIL_RELAY_PASSWORD",
                   "SECRET_KEY"}


def test_every_setting_can_be_set_from_the_environment(monkeypatch):
    from oxnack_admin.settings import _defaults_keys

    app = production_app(monkeypatch, SECRET_KEY="s3cret-value", OXNACK_MAIL_RELAY_PASSWORD="relay")
    environment = {}
    for key in _defaults_keys():
        default = app.config[key]
        if isinstance(default, bool):
            environment[key] = ("0" if default else "1", not default)
        elif isinstance(default, int):
            environment[key] = (str(default + 7), default + 7)
        elif isinstance(default, list):
            environment[key] = ("[]", [])
        elif isinstance(default, dict):
            environment[key] = ("{}", {})
        elif isinstance(default, str) and key not in UNTYPED_BY_TEST:
            environment[key] = ("from-env", "from-env")
    # DATABASE_PRE_PING (flipped to "0" above) joins the engine options as pool_pre_ping.
    environment["SQLALCHEMY_ENGINE_OPTIONS"] = ("{}", {"pool_pre_ping": False})
    app = production_app(monkeypatch, SECRET_KEY="s3cret-value", OXNACK_MAIL_RELAY_PASSWORD="relay",
                         **{f"OXNACK_{key}": raw for key, (raw, _) in environment.items()})
    wrong = {key: app.config[key] for key, (_, expected) in environment.items() if app.config[key] != expected}
    assert len(environment) > 60 and not wrong


def test_list_settings_take_typed_csv_and_a_malformed_value_names_its_variable(monkeypatch):
    app = production_app(monkeypatch, SECRET_KEY="s3cret-value", OXNACK_MAIL_RELAY_PASSWORD="relay",
                         OXNACK_PROVISIONING_RETRY_INTERVALS="5, 10", OXNACK_OS_TEMPLATES='{"alma": {"template_vmid": 9}}')
    assert app.config["PROVISIONING_RETRY_INTERVALS"] == [5, 10]
    assert app.config["OS_TEMPLATES"] == {"alma": {"template_vmid": 9}}
    with pytest.raises(ConfigurationError, match="OXNACK_SMTP_PORT: expected an integer"):
        production_app(monkeypatch, SECRET_KEY="s3cret-value", OXNACK_MAIL_RELAY_PASSWORD="relay",
                       OXNACK_SMTP_PORT="five")


@pytest.mark.parametrize("setting, options, expected", [
    (True, {"pool_size": 3}, {"pool_size": 3, "pool_pre_ping": True}),
    (False, {"pool_size": 3}, {"pool_size": 3, "pool_pre_ping": False}),
    (False, {"pool_pre_ping": True}, {"pool_pre_ping": True}),  # options that say it themselves win
])
def test_database_pre_ping_reaches_the_engine_options(setting, options, expected):
    app = Flask(__name__)
    load_config(app, {"OXNACK_ENV": "development", "DATABASE_PRE_PING": setting, "SQLALCHEMY_ENGINE_OPTIONS": options})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == expected


def test_the_database_url_has_its_oxnack_name_too(monkeypatch):
    app = production_app(monkeypatch, SECRET_KEY="s3cret-value", OXNACK_MAIL_RELAY_PASSWORD="relay",
                         OXNACK_DATABASE_URL="postgresql://u@db.example:5432/ox")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u@db.example:5432/ox"
