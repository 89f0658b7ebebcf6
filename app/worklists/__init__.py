"""What to do today: the worklists' queries (the rule per dossier is app.core.worklist)."""
