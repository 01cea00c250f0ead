"""`make soak --short` as part of `make test`: about 30 s of load and five faults, every invariant holds."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_soak_holds_every_invariant(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OXNACK_")}
    # The soak brings its own PostgreSQL, Redis and hosts; it never touches the test servers.
    done = subprocess.run([sys.executable, "-m", "bench.soak", "--short", "--seed", "1"], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=240)
    (tmp_path / "soak.out").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "every invariant holds" in done.stdout
    assert "restart_redis" in done.stdout and "kill_worker" in done.stdout
    assert "billing cycle ran under the faults" in done.stdout  # renewals, suspensions, wipes under the faults
