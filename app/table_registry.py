"""Imports every module that defines tables, so metadata and Alembic see them all."""

# Each concern adds its table module here.
from app.accounts import models as account_models  # noqa: F401
from app.auth import keys as auth_keys  # noqa: F401
from app.catalog import job_report as catalog_job_report  # noqa: F401
from app.catalog import jobs as catalog_jobs  # noqa: F401
from app.catalog import models as catalog_models  # noqa: F401
from app.chains import models as chain_models  # noqa: F401
from app.deals import models as deal_models  # noqa: F401
from app.filings import models as filing_models  # noqa: F401
from app.licensing import models as licensing_models  # noqa: F401
