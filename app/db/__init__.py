"""Storage: typed ORM models on one metadata (with a naming convention), engines and Alembic migration helpers."""

from app.db.base import Base

__all__ = ["Base"]
