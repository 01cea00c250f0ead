"""`flask --app wsgi ...` commands for operators."""
from flask import Flask


def register_all(app: Flask) -> None:
    from . import crypto, database, demo, jobs, lifecycle, staff, telegram, tokens, two_factor
    from . import newsletters

    for command in (staff.create_staff_command, database.adopt_legacy_command, demo.seed_demo_command,
                    jobs.worker_command, jobs.scheduler_command, jobs.simulators_command,
                    tokens.create_token_command, lifecycle.billing_cycle_command,
                    telegram.telegram_poll_command, telegram.telegram_webhook_command,
                    crypto.crypto_addresses_command, two_factor.reset_2fa_command,
                    newsletters.import_telegram_subscribers_command):
        app.cli.add_command(command)
