"""The built-in dashboard page: static HTML, CSS and JavaScript that read only the public API."""
