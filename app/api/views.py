"""Views of rows that depend on who is asking."""

from app.auth.access import sees_private
from app.auth.principal import Principal
from app.catalog.models import Organisation
from app.catalog.schemas.orgs import OrgPrivate, OrgPublic


def org_view(org: Organisation, principal: Principal) -> OrgPublic | OrgPrivate:
    """The organisation as this caller may see it: private for itself and admins, else public."""
    if sees_private(principal, org.id):
        return OrgPrivate.model_validate(org)
    return OrgPublic.model_validate(org)
