"""The `cbench` command line: thin sub-commands over `evaluators/`, `app/` and the data tools."""
