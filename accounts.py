"""The rules for accounts, shared by the sign-up form and `flask create-user`."""

import unicodedata

from email_validator import EmailNotValidError, validate_email

from models import User, db

MIN_PASSWORD = 10
MAX_NAME = 60
# Bidirectional overrides and isolates: in a name shown beside notes they can make it read as
# someone else's, or reverse the text after it.
BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
# Letters that draw nothing (Hangul fillers, the blank Braille pattern), on top of every
# format character (zero-width spaces and joiners…), control character and space.
BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


class AccountError(ValueError):
    """What is wrong with an account's details: `errors` maps field → message."""

    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def check_email(email):
    """The address in normal form, or None and a message for the reader."""
    try:
        return validate_email(email, check_deliverability=False).normalized.lower(), None
    except EmailNotValidError as error:
        return None, f"That email address does not look right: {error}"


def check_display_name(name):
    """The name as stored (NFC, so one spelling is one name), or None and a message."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    if BIDI_CONTROLS & set(name):
        return None, (
            "That name holds characters that reverse the direction of text (bidirectional "
            "overrides): type it without them."
        )
    if any(unicodedata.category(c) == "Cc" for c in name):
        return (
            None,
            "That name holds control characters (a line break, a tab): type it on one line.",
        )
    if all(c in BLANK_LETTERS or unicodedata.category(c)[0] in "CZ" for c in name):
        return None, f"Give a name other readers will see (up to {MAX_NAME} characters)."
    if len(name) > MAX_NAME:
        return None, (
            f"That name is {len(name)} characters; give one of up to {MAX_NAME} characters."
        )
    return name, None


def create_account(email, display_name, password):
    """A new, saved User; raises AccountError naming every field that is wrong."""
    errors = {}
    email, problem = check_email(email)
    if problem:
        errors["email"] = problem
    elif User.by_email(email) is not None:
        errors["email"] = "That address already has an account here. Sign in instead."
    display_name, problem = check_display_name(display_name)
    if problem:
        errors["display_name"] = problem
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"Use at least {MIN_PASSWORD} characters for your password."
    if errors:
        raise AccountError(errors)
    user = User(email=email, display_name=display_name)
    user.set_password(password)
    with db.atomic():
        user.save()
    return user
