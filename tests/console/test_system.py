"""The console's System page: the checks, the queues, the periodic jobs' last runs and recent failures."""
from rq.cron import CronScheduler

from jobs import payments
from jobs.worker import redis_connection
from tests.console.conftest import HTMX, make_run
from tests.support.factories import make_server, make_user


def test_the_page_shows_checks_queues_periodic_jobs_and_failures(app, client, as_role):
    as_role("support")
    customer = make_user("failed-run@example.com")
    run = make_run(make_server(731, busy=True, username=customer.username), customer)
    scheduler = CronScheduler(connection=redis_connection(app))
    scheduler.register(payments.poll_invoices, queue_name="default", interval=60)
    scheduler.enqueue_jobs()  # what the scheduler does on its first tick
    page = client.get("/console/system").get_data(as_text=True)
    assert 'hx-trigger="every 30s"' in page and '<a href="/console/system" aria-current="page">System</a>' in page
    assert 'id="check-database"' in page and 'id="check-scheduler"' in page and "degraded" in page
    assert "Payment poller</td><td>queued" in page and "Billing cycle</td><td>never" in page
    assert f'href="/console/runs/{run.id}"' in page or f"run {run.id}</a>" in page
    fragment = client.get("/console/system", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and 'id="check-redis"' in fragment
