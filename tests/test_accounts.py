"""People's accounts: invitations, argon2 sign-in, throttling, sessions, deactivation, audit."""

import pytest
from sqlmodel import Session, select

from app.accounts import service
from app.accounts.models import AuditEntry, TokenPurpose, UserAccount
from app.accounts.sessions import resolve
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, ValidationFailed
from app.settings import Settings

PASSWORD = "correct horse battery"


@pytest.fixture
def settings() -> Settings:
    # Cheap Argon2 parameters: the tests check behaviour, not cost.
    return Settings(argon2_time_cost=1, argon2_memory_kib=8192, argon2_parallelism=1)


def _org(session: Session) -> Organisation:
    org = Organisation(kind=OrgKind.UNIVERSITY, name="示例大学")
    session.add(org)
    session.flush()
    return org


def _user(session: Session, settings: Settings, email: str = "li@example.edu.cn", **kw: object):
    org = _org(session)
    new = service.NewUser(email=email, display_name="李老师", role="tto", org_id=org.id, **kw)  # type: ignore[arg-type]
    user = service.create_user(session, new, actor=None, actor_key_id=None)
    token = service.issue_token(session, user, TokenPurpose.INVITE, settings, actor=None)
    service.redeem_token(session, token, PASSWORD, settings)
    return user


def test_invited_user_sets_a_password_and_signs_in(session: Session, settings: Settings) -> None:
    user = _user(session, settings, email=" Li@Example.edu.CN ")
    assert user.email == "li@example.edu.cn"
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    signed, cookie = service.sign_in(
        session, "LI@example.edu.cn", PASSWORD, settings, ip="10.0.0.1"
    )
    assert signed.id == user.id
    found = resolve(session, cookie)
    assert found is not None
    assert found.user.id == user.id
    assert len(found.csrf_token) >= 32
    actions = [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-4:] == ["user_created", "invite_issued", "password_set", "sign_in"]


def test_an_invitation_link_works_once(session: Session, settings: Settings) -> None:
    org = _org(session)
    new = service.NewUser("wang@example.cn", "王工", "tto", org.id)
    user = service.create_user(session, new, actor=None, actor_key_id=None)
    token = service.issue_token(session, user, TokenPurpose.INVITE, settings, actor=None)
    service.redeem_token(session, token, PASSWORD, settings)
    with pytest.raises(NotFound):
        service.redeem_token(session, token, PASSWORD, settings)


def test_short_passwords_and_duplicate_emails_are_refused(
    session: Session, settings: Settings
) -> None:
    user = _user(session, settings)
    token = service.issue_token(session, user, TokenPurpose.RESET, settings, actor=None)
    with pytest.raises(ValidationFailed):
        service.redeem_token(session, token, "short", settings)
    with pytest.raises(Conflict):
        service.create_user(
            session,
            service.NewUser(user.email, "x", "tto", user.org_id),
            actor=None,
            actor_key_id=None,
        )


def test_wrong_password_is_throttled_after_the_limit(session: Session, settings: Settings) -> None:
    _user(session, settings, email="zhao@example.cn")
    for _ in range(settings.signin_max_failures):
        with pytest.raises(Unauthorized):
            service.sign_in(session, "zhao@example.cn", "wrong password!", settings, ip=None)
    # Even the right password is refused while the account is throttled.
    with pytest.raises(RateLimited):
        service.sign_in(session, "zhao@example.cn", PASSWORD, settings, ip=None)


def test_unknown_email_fails_like_a_wrong_password(session: Session, settings: Settings) -> None:
    with pytest.raises(Unauthorized, match="wrong e-mail or password"):
        service.sign_in(session, "nobody@example.cn", PASSWORD, settings, ip=None)


def test_reset_locks_the_account_and_ends_sessions(session: Session, settings: Settings) -> None:
    user = _user(session, settings, email="sun@example.cn")
    _, cookie = service.sign_in(session, user.email, PASSWORD, settings, ip=None)
    service.issue_token(session, user, TokenPurpose.RESET, settings, actor=None)
    assert resolve(session, cookie) is None
    with pytest.raises(Unauthorized):
        service.sign_in(session, user.email, PASSWORD, settings, ip=None)


def test_sign_out_everywhere_ends_every_session(session: Session, settings: Settings) -> None:
    user = _user(session, settings, email="zhou@example.cn")
    cookies = [
        service.sign_in(session, user.email, PASSWORD, settings, ip=None)[1] for _ in range(2)
    ]
    assert service.sign_out_everywhere(session, user) == 2
    assert all(resolve(session, c) is None for c in cookies)


def test_org_admins_manage_only_their_own_colleagues(session: Session, settings: Settings) -> None:
    admin = _user(session, settings, email="boss@example.cn", is_org_admin=True)
    colleague = service.create_user(
        session,
        service.NewUser("c@example.cn", "同事", "tto", admin.org_id),
        actor=admin,
        actor_key_id=None,
    )
    stranger = _user(session, settings, email="other@example.cn")
    assert colleague.id is not None
    assert stranger.id is not None
    assert service.manageable_user(session, admin, colleague.id) is colleague
    with pytest.raises(Forbidden):
        service.manageable_user(session, admin, stranger.id)
    with pytest.raises(Conflict):
        service.deactivate(session, admin, admin)
    _, cookie = service.sign_in(session, stranger.email, PASSWORD, settings, ip=None)
    platform = UserAccount(email="root@example.cn", display_name="平台", role="admin")
    session.add(platform)
    session.flush()
    service.deactivate(session, platform, service.manageable_user(session, platform, stranger.id))
    assert resolve(session, cookie) is None
    with pytest.raises(Unauthorized):
        service.sign_in(session, stranger.email, PASSWORD, settings, ip=None)
