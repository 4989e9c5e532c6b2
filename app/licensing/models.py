"""Open-licence tables: declarations (开放许可声明) and every licence recorded on a patent."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.catalog.models import enum_type
from app.types import utcnow


class PaymentMode(StrEnum):
    """How the licensee pays under an open-licence declaration (许可使用费支付方式)."""

    LUMP_SUM = "lump_sum"  # 一次性付费
    SALES_ROYALTY = "sales_royalty"  # 按销售额提成
    PROFIT_ROYALTY = "profit_royalty"  # 按利润提成
    ENTRY_FEE_ROYALTY = "entry_fee_royalty"  # 入门费 + 按销售额提成


class DeclarationStatus(StrEnum):
    """Lifecycle of a declaration."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"  # 撤回, published with time and reason


class LicenceKind(StrEnum):
    """Kind of licence (许可类型)."""

    EXCLUSIVE = "exclusive"  # 独占许可
    SOLE = "sole"  # 排他许可
    ORDINARY = "ordinary"  # 普通许可
    OPEN = "open"  # 开放许可 (an ordinary licence taken under a declaration)


class OpenLicenceDeclaration(SQLModel, table=True):
    """A patentee's public offer to license a patent to anyone on posted terms."""

    __tablename__ = "open_licence_declaration"
    __table_args__ = (
        # One active declaration per patent, enforced by the database against races too.
        sa.Index(
            "uq_open_licence_declaration_active_patent",
            "patent_id",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    patent_id: int = Field(foreign_key="patent.id", index=True)
    declared_by_org_id: int | None = Field(default=None, foreign_key="organisation.id")
    payment_mode: PaymentMode = Field(sa_type=enum_type(PaymentMode), index=True)
    # Lump sum, or the entry fee in ENTRY_FEE_ROYALTY mode; whole yuan.
    fee_yuan: int | None = Field(default=None, sa_type=sa.BigInteger())
    # Royalty rate in basis points (1/100 of a percent): exact, unlike floats.
    royalty_rate_bp: int | None = None
    term_years: int
    # The notice contact is public by law, unlike the organisation's private contacts.
    contact_name: str = Field(max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)
    other_terms: str | None = Field(default=None, sa_type=sa.Text())
    status: DeclarationStatus = Field(
        default=DeclarationStatus.ACTIVE, sa_type=enum_type(DeclarationStatus), index=True
    )
    declared_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    withdrawn_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    withdrawal_reason: str | None = Field(default=None, sa_type=sa.Text())
    licence_count: int = 0


class PatentLicence(SQLModel, table=True):
    """A licence on a patent, of any kind; open licences point at their declaration."""

    __tablename__ = "patent_licence"

    id: int | None = Field(default=None, primary_key=True)
    patent_id: int = Field(foreign_key="patent.id", index=True)
    kind: LicenceKind = Field(sa_type=enum_type(LicenceKind), index=True)
    licensee_org_id: int = Field(foreign_key="organisation.id", index=True)
    start_date: date
    # Active while the end date has not passed.
    end_date: date
    payment_mode: PaymentMode | None = Field(default=None, sa_type=enum_type(PaymentMode))
    fee_yuan: int | None = Field(default=None, sa_type=sa.BigInteger())
    royalty_rate_bp: int | None = None
    declaration_id: int | None = Field(
        default=None, foreign_key="open_licence_declaration.id", index=True
    )
    intended_use: str | None = Field(default=None, sa_type=sa.Text())
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
