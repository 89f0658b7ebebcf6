"""The store: engines, the unit of work, and what differs between SQLite and PostgreSQL."""
