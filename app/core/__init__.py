"""Settings, security helpers and other process-wide plumbing."""
