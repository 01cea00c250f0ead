"""orjson writes the same JSON Flask's own encoder wrote."""
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from uuid import UUID

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from oxnack_admin.web.json_provider import OrjsonProvider, StdlibProvider


@dataclass
class Point:
    x: int
    label: str


VALUES = [
    {"status": "good", "balance": 500, "message": "balance got"},
    {"b": 1, "a": [1, 2.5, None, True], "c": {"z": 1, "y": "é ✓"}},
    {"amount": Decimal("12.50"), "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "day": date(2026, 1, 2)},
    {"id": UUID(int=7), "point": Point(1, "p")},
    {5: "int keys", 3: "sorted as numbers"},
    {"huge": 2 ** 70, "tiny": -(2 ** 70)},
    ["<script>", "&", "'"],
]


def test_orjson_answers_decode_to_what_flask_encoded():
    app = Flask(__name__)
    ours, flask_own = OrjsonProvider(app), DefaultJSONProvider(app)
    with app.app_context():
        for value in VALUES:
            assert json.loads(ours.dumps(value)) == json.loads(flask_own.dumps(value)), value
            answer, expected = ours.response(value), flask_own.response(value)
            assert answer.mimetype == expected.mimetype == "application/json"
            assert json.loads(answer.get_data()) == json.loads(expected.get_data()), value


def test_ascii_answers_are_byte_for_byte_flasks():
    app = Flask(__name__)
    with app.app_context():
        for value in (VALUES[0], VALUES[3], VALUES[4], VALUES[5]):
            assert OrjsonProvider(app).response(value).get_data() == DefaultJSONProvider(app).response(value).get_data()


def test_the_app_uses_the_configured_encoder(database_url, redis_url):
    from oxnack_admin import create_app
    from tests.conftest import make_test_config

    assert isinstance(create_app(make_test_config(database_url, redis_url)).json, OrjsonProvider)
    stdlib = create_app(make_test_config(database_url, redis_url, JSON_ENCODER="stdlib"))
    assert type(stdlib.json) is StdlibProvider and not isinstance(stdlib.json, OrjsonProvider)
