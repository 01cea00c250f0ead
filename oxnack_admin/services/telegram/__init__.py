"""The Telegram bot: the outbox, received updates, who is who, and what a customer does there."""
