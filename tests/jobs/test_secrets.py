"""Root passwords: sealed while provisioning needs them, gone from the database once mailed, never logged."""
import logging

from sqlalchemy import text

from oxnack_admin.extensions import db
from oxnack_admin.models import Server
from oxnack_admin.services import sealed
from oxnack_admin.services.provisioning import steps
from tests.jobs.support import place, reload_run
from tests.support.factories import make_server


def everything_in_the_database() -> str:
    """Every row of every table as text: a secret anywhere in it shows up here."""
    tables = [table.name for table in db.metadata.sorted_tables]
    rows = []
    for name in tables:
        rows += db.session.execute(text(f'SELECT to_jsonb(t)::text FROM "{name}" t')).scalars().all()
    return "\n".join(rows)


def test_the_root_password_is_gone_from_the_database_after_delivery_and_never_logged(
        app, proxmox, pfsense, smtp, pool, customer, work, tmp_path):
    log_file = tmp_path / "worker.log"
    handler = logging.FileHandler(log_file)  # inherited by the forked work horses, unlike pytest's capture
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        pool(1)
        placed = place(customer)
        work()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()

    assert reload_run(placed.run.id).state == "done"
    password = proxmox.vm(placed.server.id).config["cipassword"]
    [received] = smtp.messages
    assert f"Пароль root: {password}" in received.get_content()  # the customer has it
    assert password not in everything_in_the_database()
    logged = log_file.read_text()
    assert "mail" in logged and password not in logged  # the worker did log, just never the secret


def test_the_password_is_sealed_while_provisioning_needs_it(app, proxmox, pfsense, pool, customer, job_config):
    pool(1)
    placed = place(customer)
    server = db.session.get(Server, placed.server.id)
    ctx = steps.StepContext(steps.Facts.of(placed.run, server, customer), server)
    steps.configure_vm(ctx)
    db.session.commit()

    password = proxmox.vm(server.id).config["cipassword"]
    stored = db.session.scalar(text("SELECT passwd FROM servers WHERE id = :id"), {"id": server.id})
    assert stored.startswith(sealed.PREFIX) and password not in stored
    assert sealed.unseal(stored) == password
    assert password not in everything_in_the_database()


def test_a_legacy_plaintext_password_stays_and_is_never_read(app):
    make_server(105, busy=True, username="anna", passwd="OldPlain1")
    assert sealed.unseal(db.session.get(Server, 105).passwd) is None
    assert db.session.get(Server, 105).passwd == "OldPlain1"  # kept as the old system left it
