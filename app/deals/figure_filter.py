"""Which events the key figures count: a region, industry, IPC section, organisation, months."""

from typing import Any

from pydantic import BaseModel, Field, field_validator

from app.catalog.region import InvalidRegionCode, RegionPrefix
from app.types import DbId

# YYYY-MM with a year of ``app.types.YEARS`` (1900–2999; tests check the two agree).
MONTH_PATTERN = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$"


class FigureFilter(BaseModel):
    """Which events count: each set field keeps the events that group under it.

    The tests are those of the grouping (a patent by its owner's region and organisation and
    its IPC section, a deal by the demand's region and industry; the month of the event), so
    a filtered figure equals the matching row of the unfiltered figures grouped that way.
    Patent-side events carry no industry: an industry filter leaves only deal-side figures.
    """

    region: str | None = Field(
        default=None, max_length=12, description="GB/T 2260 prefix: 33, 3301, 330106"
    )
    industry: str | None = Field(
        default=None, pattern=r"^\d{2}$", description="GB/T 4754 division (大类), e.g. 38"
    )
    ipc_section: str | None = Field(default=None, pattern="^[A-H]$", description="A to H")
    org_id: DbId | None = Field(default=None, description="patent owner / supply-side org")
    month_from: str | None = Field(default=None, pattern=MONTH_PATTERN, description="YYYY-MM")
    month_to: str | None = Field(default=None, pattern=MONTH_PATTERN, description="YYYY-MM")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # An HTML filter form sends every field, the unused ones empty.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("region")
    @classmethod
    def _region_prefix(cls, value: str | None) -> str | None:
        try:
            return None if value is None else RegionPrefix.parse(value, "region").digits
        except InvalidRegionCode as exc:
            raise ValueError(str(exc)) from None

    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return not any(self.model_dump().values())

    def passes(
        self,
        *,
        region: str | None,
        industry: str | None,
        ipc: str | None,
        org: int | None,
        month: str | None,
    ) -> bool:
        """True when an event with these facts (month: ``YYYY-MM`` or None) is counted."""
        return (
            (self.region is None or (region or "").startswith(self.region))
            and (self.industry is None or industry == self.industry)
            and (self.ipc_section is None or (ipc or "")[:1] == self.ipc_section)
            and (self.org_id is None or org == self.org_id)
            and self.in_months(month)
        )

    def in_months(self, month: str | None) -> bool:
        """True when an event of this month (``YYYY-MM`` or None) lies in the month range."""
        if self.month_from is None and self.month_to is None:
            return True
        if month is None or not month[:4].isdigit():
            return False  # an event of unknown month is outside every range
        return (self.month_from or month) <= month <= (self.month_to or month)
