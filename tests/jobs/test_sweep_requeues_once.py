"""The sweep queues a stuck run again once per PROVISIONING_STUCK_MINUTES, not on every pass.

Found by the soak (bench/soak): behind a long queue every sweep queued the same waiting runs
again, and the duplicates snowballed (945 extra jobs in five minutes).
"""
from datetime import datetime, timedelta, timezone

from rq import Queue

from oxnack_admin.extensions import db, redis_client
from oxnack_admin.models import ProvisioningRun
from oxnack_admin.services.ops import queueing
from oxnack_admin.services.provisioning import runs as provisioning_runs
from tests.jobs.support import place


def test_a_stuck_run_is_queued_again_once_until_it_is_stuck_again(app, proxmox, pfsense, pool, customer):
    pool(1)
    run_id = place(customer).run.id
    queue = Queue(queueing.PROVISIONING, connection=redis_client.connection)
    assert queue.count == 1  # the order's own job
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=app.config["PROVISIONING_STUCK_MINUTES"] + 5)
    db.session.get(ProvisioningRun, run_id).updated_at = long_ago
    db.session.commit()

    assert provisioning_runs.resume_stuck_runs() == [run_id]
    assert provisioning_runs.resume_stuck_runs() == []  # the next passes wait for the job just queued
    assert provisioning_runs.resume_stuck_runs() == []
    assert queue.count == 2

    db.session.get(ProvisioningRun, run_id).updated_at = long_ago  # stuck again a while later
    db.session.commit()
    assert provisioning_runs.resume_stuck_runs() == [run_id]
