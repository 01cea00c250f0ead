"""pfSense changes are serialized: two concurrent removals never delete a third customer's NAT, rule or mapping.

A release (or a termination) takes the server from its owner and queues a wipe; the wipe's
network step is `remove_network`, so two wipes running on two workers race exactly here.
"""
import threading

from oxnack_admin.extensions import db
from oxnack_admin.models import Server
from oxnack_admin.services.fleet.release import remove_network
from tests.jobs.support import place, wait_until
from tests.support.factories import make_user


def test_two_concurrent_network_removals_delete_only_their_own_objects(app, proxmox, pfsense, smtp, pool, work):
    pool(3)  # VMs 301, 302, 303: their NATs are objects 0, 1 and 2 on pfSense
    for n in range(3):
        place(make_user(f"tenant{n}@example.com", balance=500))
    work()
    assert [nat["descr"] for nat in pfsense.nat_mappings] == ["oxnack vm 301", "oxnack vm 302", "oxnack vm 303"]

    errors = []

    def release(vmid):
        with app.app_context():
            try:
                remove_network(db.session.get(Server, vmid))
            except Exception as error:  # reported below, with the pfSense state
                errors.append(f"{vmid}: {error!r}")
            finally:
                db.session.remove()

    # 302 looks up its NAT (id 1); its delete is held on the wire while 301's removal runs. Without
    # the lock, 301 deletes id 0, ids shift, and 302's "delete id 1" removes 303's NAT.
    pfsense.delay_next(r"/one_to_one/mapping$", 2.0)
    second = threading.Thread(target=release, args=(302,))
    second.start()
    wait_until(lambda: pfsense.calls_to("DELETE", r"/one_to_one/mapping$"), what="302's NAT delete on the wire")
    first = threading.Thread(target=release, args=(301,))
    first.start()
    for thread in (first, second):
        thread.join(timeout=60)

    assert not errors, errors
    assert [nat["descr"] for nat in pfsense.nat_mappings] == ["oxnack vm 303"]
    assert [rule["descr"] for rule in pfsense.rules if rule["descr"].startswith("oxnack")] == ["oxnack vm 303"]
    db.session.expire_all()
    assert [m["mac"] for m in pfsense.static_mappings] == [db.session.get(Server, 303).mac]
