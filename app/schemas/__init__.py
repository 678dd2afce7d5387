"""Pydantic request and response schemas, named <Thing>Create / <Thing>Public / <Things>Public; kept apart from
the ORM models in `app.db.models`."""
