"""Newsletter jobs (queue `telegram`): one sender works through a newsletter's recipients at the shared pace."""
from oxnack_admin.services.support import sending


def send(newsletter_id: int) -> None:
    """Send the next recipients of a newsletter for one slice; the slice queues its continuation."""
    sending.send_slice(newsletter_id)
