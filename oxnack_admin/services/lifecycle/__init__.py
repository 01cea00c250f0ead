"""The server lifecycle: reminders, renewal, suspension, termination, and the wipe before every reuse."""
