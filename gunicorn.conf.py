"""gunicorn settings (gunicorn reads ./gunicorn.conf.py; `make run` and the README pass it with -c)."""
from oxnack_admin.web.http_connection import remember_gunicorn_request


def pre_request(worker, req):
    # gunicorn ignores a Connection header set by the app: the app marks this request to close instead.
    remember_gunicorn_request(req)
