"""The yardstick: what the old services were, plain Flask plus flask-cors answering /parametrs.

Served by the bench under the same server and worker settings as ours, so every figure of
ours is printed as a ratio to it, measured minutes apart on the same (noisy) machine.
"""
import os

from flask import Flask, jsonify
from flask_cors import CORS

app = Flask(__name__)
CORS(app, supports_credentials=True,
     origins=[origin for origin in os.environ.get("OXNACK_CORS_ORIGINS", "http://localhost:8080").split(",") if origin])

# The old /parametrs answer: the defaults of the legacy config.
PARAMETERS = {"status": "good", "message": "oss", "pr_ram": 10, "pr_hdd": 10, "pr_core": 10, "pr_ip": 10,
              "mx_ram": 5, "mx_core": 5, "mx_hdd": 30, "min_ram": 1, "min_core": 1, "min_hdd": 15}


@app.route("/parametrs", methods=["GET"])
def parametrs():
    return jsonify(PARAMETERS), 200


@app.route("/health", methods=["GET"])
def health():
    return jsonify({"status": "ok"})
