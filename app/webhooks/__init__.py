"""Early warning: webhook subscriptions, the daily signed digest of the worklists, its deliveries with
retries, and the one job runner (lease) that sends them and prunes old rows."""
