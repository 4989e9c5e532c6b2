"""People's accounts: users of organisations, passwords, sessions, one-time tokens, audit log."""
