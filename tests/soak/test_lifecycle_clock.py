"""The soak's fast lifecycle clock: every process with the same two settings agrees on "now"."""
import time
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask

from oxnack_admin.services.lifecycle import clock
from oxnack_admin.settings import ConfigurationError, check_production_safety, load_config


def lifecycle_now(**settings) -> datetime:
    app = Flask(__name__)
    load_config(app, {"OXNACK_ENV": "development", **settings})
    with app.app_context():
        return clock.now()


def test_by_default_the_lifecycle_clock_is_real_time():
    before = datetime.now(timezone.utc)
    assert before <= lifecycle_now() <= datetime.now(timezone.utc)


def test_a_faster_clock_runs_ahead_from_its_epoch():
    epoch = time.time() - 10
    fast = lifecycle_now(LIFECYCLE_CLOCK_RATE=86400.0, LIFECYCLE_CLOCK_EPOCH=epoch)
    # Ten real seconds at one day per second: ten days and a bit (the call itself took some of a second).
    start = datetime.fromtimestamp(epoch, timezone.utc)
    assert start + timedelta(days=10) <= fast < start + timedelta(days=12)


def test_outside_an_app_the_clock_is_real_time():
    before = datetime.now(timezone.utc)
    assert before <= clock.now() <= datetime.now(timezone.utc)


def test_production_refuses_a_faster_clock():
    config = {"OXNACK_ENV": "production", "SECRET_KEY": "s3cret", "MAIL_RELAY_PASSWORD": "relay",
              "LIFECYCLE_CLOCK_RATE": 2.0}
    with pytest.raises(ConfigurationError, match="LIFECYCLE_CLOCK_RATE"):
        check_production_safety(config)
    check_production_safety({**config, "LIFECYCLE_CLOCK_RATE": 1.0})
