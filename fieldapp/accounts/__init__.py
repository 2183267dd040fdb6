"""Organizations, users, roles, sessions, API tokens and the login flow."""
