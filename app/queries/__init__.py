"""Database access, one module per resource. Routes, workers and web pages call these; none builds SQL inline."""
