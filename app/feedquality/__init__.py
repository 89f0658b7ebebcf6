"""The quality of the feed: rejected records' reasons and accepted versions' warnings, counted per
local day, token and agency (`store`: written with each ingest chunk, pruned), and read back
(`service`: GET /v1/feed-quality). The rules themselves are app/core/feed_rules.py."""
