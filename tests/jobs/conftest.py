"""Fixtures of the job tests: loopback Proxmox and pfSense, an aiosmtpd server, a real RQ worker.

Jobs run through `jobs.worker.AppWorker` in burst mode on the real Redis: each job in a forked
work horse, exactly as `flask worker` runs it. Retry intervals are zero so a retried job runs
again within the same burst.
"""
import email
import email.policy
import signal
import socket

import pytest
from aiosmtpd.controller import Controller

from jobs.worker import run_worker
from oxnack_admin.simulator.pfsense import PfSenseSimulator
from oxnack_admin.simulator.proxmox import ProxmoxSimulator
from tests.support.config import config_overrides
from tests.support.factories import make_server, make_user

JOB_SETTINGS = {
    "PROVISIONING_RETRY_INTERVALS": [0, 0],  # three attempts in all, back to back
    "MAIL_RETRY_INTERVALS": [0, 0],
    "PROXMOX_POLL_INTERVAL": 0.01,
    "PROXMOX_TIMEOUT": 5,
    "PROXMOX_TASK_DEADLINE": 10,
    "PROXMOX_SHUTDOWN_TIMEOUT": 5,
    "PFSENSE_TIMEOUT": 5,
    "SMTP_TIMEOUT": 5,
    "SMTP_STARTTLS": False,
    "SMTP_USER": "",
    "SMTP_PASSWORD": "",
    "MAIL_SENDER": "noreply@oxnack.test",
}


@pytest.fixture(autouse=True)
def _keep_signal_handlers():
    """An in-process RQ worker installs its own SIGINT/SIGTERM handlers; pytest gets its own back."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


@pytest.fixture
def job_config(app):
    """The session app, reconfigured for this test; every key is restored afterwards."""
    with config_overrides(app, **JOB_SETTINGS) as set_config:
        yield set_config


@pytest.fixture
def proxmox(job_config):
    """A Proxmox simulator the app's real client talks to (token auth)."""
    simulator = ProxmoxSimulator(task_polls_before_done=1).start()
    job_config(PROXMOX_URL=simulator.url, PROXMOX_NODE=simulator.node, PROXMOX_USER=simulator.user,
               PROXMOX_TOKEN=simulator.token, PROXMOX_PASSWORD="", PROXMOX_VERIFY_TLS=False)
    yield simulator
    simulator.stop()


@pytest.fixture
def pfsense(job_config):
    simulator = PfSenseSimulator().start()
    job_config(PFSENSE_URL=simulator.url, PFSENSE_API_KEY=simulator.api_key, PFSENSE_VERIFY_TLS=False)
    yield simulator
    simulator.stop()


class RecordingHandler:
    """Keeps every accepted message; can refuse the next few recipients (451 "try later" by default)."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.refuse_next = 0
        self.refusal = "451 4.3.0 Mailbox temporarily unavailable, try again later"
        self.before_accepting = None  # called as a message arrives, before the 250 (a fault to inject)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return self.refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.before_accepting is not None:
            self.before_accepting()
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"


class LoopbackSMTP(Controller):
    """aiosmtpd on 127.0.0.1; with port 0 the kernel picks the port and we read it back."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """An SMTP server the test can take down and bring back on the same port."""

    def __init__(self, port: int, **smtp_options):
        self.handler = RecordingHandler()
        self.port = port
        self.smtp_options = smtp_options
        self._controller = None

    @property
    def messages(self):
        return self.handler.messages

    def start(self):
        self._controller = LoopbackSMTP(self.handler, hostname="127.0.0.1", port=self.port, **self.smtp_options)
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(job_config):
    """A running aiosmtpd server the app sends to."""
    server = SmtpServer(0).start()
    job_config(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port)
    yield server
    server.stop()


@pytest.fixture
def smtp_down(job_config):
    """A port nothing listens on yet; `.start()` brings an SMTP server up there."""
    server = SmtpServer(free_port())
    job_config(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port)
    yield server
    server.stop()


@pytest.fixture
def work(app):
    """Run a real RQ worker in burst mode on the given queues (default: all) until they are empty."""

    def run(*queue_names: str) -> bool:
        return run_worker(app, queue_names or None, burst=True, with_scheduler=False)

    return run


@pytest.fixture
def pool(app, proxmox):
    """Pool VMs in the database and in the simulated node (ubuntu, 15 GB disks, stopped)."""

    def make(count: int = 1, first_vmid: int = 301, os_name: str = "ubuntu"):
        servers = []
        for vmid in range(first_vmid, first_vmid + count):
            servers.append(make_server(vmid, os_name, ips=[f"198.51.100.{vmid % 250}"],
                                       lan_ip=f"192.168.2.{vmid % 250}"))
            proxmox.add_vm(vmid, name=f"pool-{vmid}", disk_gb=app.config["MIN_HDD"])
        return servers

    return make


@pytest.fixture
def customer(app):
    return make_user("owner@example.com", balance=500)
