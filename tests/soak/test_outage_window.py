"""The soak's outage windows: the time a dependency was away and requests in flight, nothing more."""
from bench.soak.faults import IN_FLIGHT, Fault
from bench.soak.load import Sample
from bench.soak.report import outage_lines


def test_a_postgres_restart_window_ends_soon_after_the_app_is_healthy_again():
    # Dead pooled connections once added 10 s here; both pools now replace them (test_database_reconnect.py).
    fault = Fault("restart_postgres", "postgres", started=20.0, ended=21.5, recovered_after=0.5)
    assert fault.window == (20.0, 22.0 + IN_FLIGHT)
    assert Fault("restart_redis", "redis", started=5.0, ended=6.0, recovered_after=0.0).window == (5.0, 6.0 + IN_FLIGHT)


def test_the_report_counts_5xx_after_recovery_apart():
    fault = Fault("restart_postgres", "postgres", started=20.0, ended=21.0, recovered_after=1.0)
    samples = [Sample(20.5, "GET /get_balance", 500, 1.0), Sample(24.0, "GET /get_balance", 500, 1.0),
               Sample(30.0, "GET /get_balance", 500, 1.0), Sample(30.0, "GET /get_balance", 200, 1.0)]
    line = outage_lines(samples, [fault]).splitlines()[-1]
    assert [cell.strip() for cell in line.split("|")] == ["restart_postgres", "1.0", f"{2.0 + IN_FLIGHT:.1f}", "2", "2"]
