"""The HTTP endpoints, one module per area; a router imports no other router."""
