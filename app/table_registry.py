"""Imports every module that defines tables, so metadata and Alembic see them all."""

# Each concern adds its table module here.
from app.api import job_report as api_job_report  # noqa: F401
from app.api import jobs as api_jobs  # noqa: F401
from app.api import keys as api_keys  # noqa: F401
from app.catalog import models as catalog_models  # noqa: F401
from app.deals import models as deal_models  # noqa: F401
from app.licensing import models as licensing_models  # noqa: F401
