"""Account tables: users, their sessions, one-time tokens (invites, resets) and the audit log."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.catalog.models import enum_type
from app.types import utcnow


class TokenPurpose(StrEnum):
    """What a one-time token lets its bearer do."""

    INVITE = "invite"  # set a first password
    RESET = "reset"  # set a new password after an admin reset


class UserAccount(SQLModel, table=True):
    """A person who signs in to the console; belongs to an organisation unless platform admin."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    email: str = Field(max_length=254, unique=True)
    display_name: str = Field(max_length=100)
    # One of the API roles (enterprise, tto, station, government, admin), stored by value.
    role: str = Field(max_length=16)
    is_org_admin: bool = False
    # None until the invitation (or a reset) link has been used.
    password_hash: str | None = Field(default=None, max_length=200)
    active: bool = True
    # The API key this person acts through in the domain (deal events name keys); its secret
    # is never shown, and it is revoked with the account.
    actor_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    last_sign_in_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class UserSession(SQLModel, table=True):
    """A signed-in browser: the cookie carries a random token, the table only its hash."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class AccountToken(SQLModel, table=True):
    """A one-time link token (invitation or password reset); only its hash is stored."""

    __tablename__ = "account_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    purpose: TokenPurpose = Field(sa_type=enum_type(TokenPurpose))
    token_hash: str = Field(max_length=64, unique=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class AuditEntry(SQLModel, table=True):
    """One sign-in or administrative action (append-only)."""

    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_action_subject", "action", "subject", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    action: str = Field(max_length=40)
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    # What was acted on: an e-mail address for sign-ins, "user:12", "key:3", "org:5", …
    subject: str = Field(max_length=254)
    ip: str | None = Field(default=None, max_length=45, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
