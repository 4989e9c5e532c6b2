"""Commit a catalog write and wake the background indexer."""

import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.errors import Conflict
from app.search.engine import MatchEngine

logger = logging.getLogger("patentmatch.api")

# What a client is told: the database's own message names tables and constraints.
CONFLICT_DETAIL = "conflicts with an existing record"


def commit_and_sync(session: Session, matcher: MatchEngine | None) -> None:
    """Commit, then tell the match engine's indexer, which makes the write searchable shortly
    (well under a second at idle) without encoding anything in this request.

    A unique-constraint violation at commit (a concurrent duplicate) becomes a 409.
    """
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        logger.info("commit refused by a constraint: %s", exc.orig)
        raise Conflict(CONFLICT_DETAIL) from None
    if matcher is not None:
        matcher.mark_written()
