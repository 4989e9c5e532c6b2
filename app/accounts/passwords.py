"""Password hashing with Argon2id (argon2-cffi), parameters from the settings."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import ValidationFailed
from app.settings import Settings

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200


def password_hasher(settings: Settings) -> PasswordHasher:
    """An Argon2id hasher with the configured cost (defaults: RFC 9106's second profile)."""
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


def check_new_password(password: str) -> None:
    """422 naming the field when a new password is too short or too long."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            "unusable password",
            errors=[
                {
                    "field": "password",
                    "message": f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
                }
            ],
        )


def verify_password(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; a missing hash still costs one verification."""
    if stored is None:
        # Same work as a real check, so timing does not tell which accounts exist.
        hasher.hash(password)
        return False
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
