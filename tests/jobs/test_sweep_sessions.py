"""The periodic sweep also drops expired customer sessions."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from jobs.maintenance import sweep
from oxnack_admin.extensions import db
from oxnack_admin.models import UserSession
from oxnack_admin.services.accounts.sessions import hash_token, start_session
from tests.support.factories import make_user


def test_sweep_purges_expired_sessions_only(app):
    user = make_user()
    live, stale = start_session(user), start_session(user)
    db.session.execute(UserSession.__table__.update().where(UserSession.token_hash == hash_token(stale))
                       .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    db.session.commit()
    sweep()
    assert db.session.scalars(select(UserSession.token_hash)).all() == [hash_token(live)]
