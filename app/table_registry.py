"""Imports every module that defines tables, so metadata and Alembic see them all."""

# Each concern adds its table module here.
from app.catalog import models as catalog_models  # noqa: F401
