"""The emails of sign-in, sent through the outbox."""

from __future__ import annotations

from typing import Any

from loupe.kit.outbox import email_payload


def verify_email(to: str, name: str, link: str, token: str) -> dict[str, Any]:
    return email_payload(
        to,
        "Confirm your email for Loupe",
        f"Hi {name},\n\nConfirm your email to finish signing up:\n{link}\n\n"
        f"(Or send this token to POST /v1/auth/verify-email: {token})\n\nThe link works once, for 24 hours.\n",
    )


def already_registered(to: str, reset_link: str) -> dict[str, Any]:
    return email_payload(
        to,
        "You already have a Loupe account",
        "Someone (maybe you) tried to sign up with this email, which already has an account.\n\n"
        f"Sign in, or reset your password here: {reset_link}\n\nIf it was not you, nothing changed.\n",
    )


def password_reset(to: str, name: str, link: str, token: str) -> dict[str, Any]:
    return email_payload(
        to,
        "Reset your Loupe password",
        f"Hi {name},\n\nChoose a new password here:\n{link}\n\n"
        f"(Or send this token to POST /v1/auth/password-reset/confirm: {token})\n\n"
        "The link works once, for 30 minutes. If you did not ask for it, ignore this email.\n",
    )
