"""Open licensing in the console: the declaration form with its statutory checks and its
withdrawal (TTO), and taking a licence by written notice (enterprise)."""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from app.auth.principal import Role
from app.catalog.models import Patent
from app.console.forms import enum_value, invalid, optional_date, optional_int
from app.console.web import ConsoleRoute, DbSession, FormUser, User, redirect, render, require_role
from app.errors import NotFound, ValidationFailed
from app.licensing import rules, service
from app.licensing.models import PaymentMode
from app.licensing.schemas import DeclarationCreate, LicenceNotice, WithdrawRequest

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _patent(session: Session, patent_id: int) -> Patent:
    patent = session.get(Patent, patent_id)
    if patent is None:
        raise NotFound(f"patent {patent_id} does not exist")
    return patent


def _checks(session: Session, patent: Patent, today: date) -> list[tuple[bool, str]]:
    """The statutory checks that do not depend on the form: (passed, what failed or held)."""
    assert patent.id is not None
    in_force = rules.check_patent_in_force(patent.legal_status, patent.expiry_date, today)
    spans = [
        rules.LicenceSpan(x.kind, x.end_date)
        for x in service.active_licences(session, patent.id, today)
    ]
    blocking = rules.blocking_licence(spans, today)
    declared = service.active_declaration(session, patent.id)
    return [
        (not in_force, in_force[0].message if in_force else "check.in_force"),
        (
            blocking is None,
            f"{blocking.kind.value} → {blocking.end_date}" if blocking else "check.no_exclusive",
        ),
        (declared is None, "check.already_declared" if declared else "check.not_declared"),
    ]


def _form(
    request: Request,
    session: Session,
    patent: Patent,
    *,
    status: int = 200,
    errors: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    today = service.today_utc()
    return render(
        request,
        "declare.html",
        status=status,
        patent=patent,
        checks=_checks(session, patent, today),
        modes=list(PaymentMode),
        errors=errors or [],
        values=values or {},
        max_fee=rules.MAX_FIXED_FEE_YUAN,
        max_sales=rules.MAX_SALES_ROYALTY_PERCENT,
        max_profit=rules.MAX_PROFIT_ROYALTY_PERCENT,
    )


@router.get("/patents/{patent_id}/declare")
def declare_form(request: Request, patent_id: int, session: DbSession, signed: User) -> Response:
    """The open-licence declaration form, with the statutory checks shown first."""
    require_role(signed, Role.TTO)
    return _form(request, session, _patent(session, patent_id))


def _rate(raw: str) -> Decimal | None:
    text = raw.strip().rstrip("%")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise invalid("royalty_rate_percent", "must be a number, e.g. 3.5") from None


@router.post("/patents/{patent_id}/declare")
def declare(
    request: Request,
    patent_id: int,
    session: DbSession,
    signed: FormUser,
    payment_mode: Annotated[str, Form(max_length=32)],
    term_years: Annotated[str, Form(max_length=4)],
    contact_name: Annotated[str, Form(max_length=100)],
    fee_yuan: Annotated[str, Form(max_length=20)] = "",
    royalty_rate_percent: Annotated[str, Form(max_length=10)] = "",
    contact_phone: Annotated[str, Form(max_length=40)] = "",
    contact_email: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Declare the open licence; a broken rule re-shows the form with every violation."""
    principal = require_role(signed, Role.TTO)
    patent = _patent(session, patent_id)
    values = {
        "payment_mode": payment_mode,
        "fee_yuan": fee_yuan,
        "royalty_rate_percent": royalty_rate_percent,
        "term_years": term_years,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "contact_email": contact_email,
    }
    try:
        body = DeclarationCreate(
            payment_mode=enum_value(PaymentMode, payment_mode, "payment_mode"),
            fee_yuan=optional_int(fee_yuan, "fee_yuan", low=-(10**12)),
            royalty_rate_percent=_rate(royalty_rate_percent),
            term_years=optional_int(term_years, "term_years", low=-100, high=100) or 0,
            contact_name=contact_name,
            contact_phone=contact_phone or None,
            contact_email=contact_email or None,
        )
        service.declare(session, principal, patent_id, body)
    except ValidationFailed as exc:
        session.rollback()
        return _form(
            request, session, patent, status=422, errors=exc.extra["errors"], values=values
        )
    except ValidationError as exc:
        session.rollback()
        errors = _field_errors(exc).extra["errors"]
        return _form(request, session, patent, status=422, errors=errors, values=values)
    session.commit()
    request.app.state.matcher.mark_written()  # the indexer makes it searchable shortly
    return redirect(f"/patents/{patent_id}")


def _field_errors(exc: ValidationError) -> ValidationFailed:
    """Pydantic's errors as the console's 422, one entry per field."""
    errors = [{"field": str(e["loc"][0]), "message": e["msg"]} for e in exc.errors()]
    return ValidationFailed("invalid input", errors=errors)


@router.post("/open-licences/{declaration_id}/withdraw")
def withdraw(
    request: Request,
    declaration_id: int,
    session: DbSession,
    signed: FormUser,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Withdraw a declaration (撤回): published with its time and reason; licences already
    taken under it stay valid until their end date."""
    principal = require_role(signed, Role.TTO)
    try:
        body = WithdrawRequest(reason=reason.strip())
    except ValidationError as exc:
        raise _field_errors(exc) from None
    declaration = service.withdraw(session, principal, declaration_id, body.reason)
    session.commit()
    request.app.state.matcher.mark_written()  # the index drops it from open-licence searches
    return redirect(f"/patents/{declaration.patent_id}")


@router.get("/open-licences/{declaration_id}/take")
def take_form(
    request: Request, declaration_id: int, session: DbSession, signed: User, need: int | None = None
) -> Response:
    """The written notice (书面通知) that takes an open licence."""
    require_role(signed, Role.ENTERPRISE)
    declaration = service.get_declaration(session, declaration_id)
    patent = _patent(session, declaration.patent_id)
    return render(
        request, "take.html", declaration=declaration, patent=patent, need_id=need, errors=[]
    )


@router.post("/open-licences/{declaration_id}/take")
def take(
    request: Request,
    declaration_id: int,
    session: DbSession,
    signed: FormUser,
    intended_use: Annotated[str, Form(max_length=2000)],
    start_date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Send the notice: the enterprise holds an ordinary licence from the start date."""
    principal = require_role(signed, Role.ENTERPRISE)
    notice = LicenceNotice(
        intended_use=intended_use or " ", start_date=optional_date(start_date, "start_date")
    )
    service.take_licence(session, principal, declaration_id, notice)
    session.commit()
    return redirect("/deals?licensed=1")
