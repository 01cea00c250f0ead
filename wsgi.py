"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from oxnack_admin import create_app

app = create_app()
