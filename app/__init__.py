"""colossal-bench service: FastAPI API, SQLAlchemy storage, job queue and leasing workers (never imports torch)."""
