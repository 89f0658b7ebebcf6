"""The HTTP layer's shared pieces: the typed application state and the request dependencies."""
