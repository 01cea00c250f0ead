"""One state machine for a server's life (services/fleet/states.py): the states it needs stored.

- lifecycle_state gains `provisioning` (a run is making the VM) and `failed` (the run failed for
  good and the VM is flagged): until now both read `active`, and only a join to the runs told.
- suspend_reason: `unpaid` or `staff`; a staff hold is lifted by staff only. Existing suspensions
  take the reason their last `suspended` event recorded.
- renewed_at (the last renewal: the repeat guard) and renewals (numbers each renewal's ledger
  key, so a period end moved back by staff is charged again instead of passing for renewed).

Revision ID: 0013_server_states
Revises: 0012_console_search_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_server_states"
down_revision = "0012_console_search_indexes"
branch_labels = None
depends_on = None

LATEST_RUN = """
    SELECT DISTINCT ON (server_id) server_id, user_id, state FROM provisioning_runs ORDER BY server_id, id DESC
"""


def upgrade():
    op.add_column("servers", sa.Column("suspend_reason", sa.Text()))
    op.add_column("servers", sa.Column("renewed_at", sa.DateTime(timezone=True)))
    op.add_column("servers", sa.Column("renewals", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.execute(f"""
        UPDATE servers s SET lifecycle_state = CASE WHEN r.state IN ('pending', 'running') THEN 'provisioning'
                                                    ELSE 'failed' END
        FROM ({LATEST_RUN}) r JOIN users u ON u.id = r.user_id
        WHERE r.server_id = s.id AND s.busy AND s.username = u.username
          AND s.lifecycle_state IS DISTINCT FROM 'wiping'
          AND (r.state IN ('pending', 'running') OR (r.state = 'failed' AND s.attention IS NOT NULL))
    """)
    op.execute("""
        UPDATE servers s SET suspend_reason = CASE WHEN e.detail ->> 'reason' = 'staff' THEN 'staff' ELSE 'unpaid' END
        FROM (SELECT DISTINCT ON (server_id) server_id, detail FROM server_events WHERE kind = 'suspended'
              ORDER BY server_id, id DESC) e
        WHERE s.lifecycle_state = 'suspended' AND e.server_id = s.id
    """)
    op.execute("UPDATE servers SET suspend_reason = 'unpaid' WHERE lifecycle_state = 'suspended' "
               "AND suspend_reason IS NULL")
    op.execute("""
        UPDATE servers s SET renewed_at = e.created_at
        FROM (SELECT server_id, username, max(created_at) AS created_at FROM server_events WHERE kind = 'renewed'
              GROUP BY server_id, username) e
        WHERE e.server_id = s.id AND e.username = s.username AND s.busy
    """)


def downgrade():
    op.execute("UPDATE servers SET lifecycle_state = 'active' WHERE lifecycle_state IN ('provisioning', 'failed')")
    op.drop_column("servers", "renewals")
    op.drop_column("servers", "renewed_at")
    op.drop_column("servers", "suspend_reason")
