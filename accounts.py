"""The rules for accounts, shared by the sign-up form, `flask create-user` and the account
page: creating, renaming, passwords, a change of address, reset links, deletion."""

import hashlib
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

import privacy
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


def check_details(email, display_name, password):
    """The address in normal form and the trimmed name; raises AccountError naming every
    field that is wrong. Says nothing about whether the address has an account."""
    errors = {}
    email, problem = check_email(email)
    if problem:
        errors["email"] = problem
    display_name, problem = check_display_name(display_name)
    if problem:
        errors["display_name"] = problem
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"Use at least {MIN_PASSWORD} characters for your password."
    if errors:
        raise AccountError(errors)
    return email, display_name


def create_account(email, display_name, password):
    """A new, saved User (for `flask create-user`: an admin may know which addresses have
    accounts, a visitor to the sign-up form may not); raises AccountError."""
    email, display_name = check_details(email, display_name, password)
    if User.by_email(email) is not None:
        raise AccountError({"email": "That address already has an account here."})
    user = User(email=email, display_name=display_name)
    user.set_password(password)
    with db.atomic():
        user.save()
    return user


# --- changing an account (the /account page) ---------------------------------------------


def rename(user, display_name):
    """Give the reader a new display name; raises AccountError when it is empty or long."""
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > MAX_NAME:
        raise AccountError(
            {"display_name": f"Give a name other readers will see (up to {MAX_NAME} characters)."}
        )
    user.display_name = display_name
    with db.atomic():
        user.save(only=["display_name"])


def change_password(user, current, new):
    """Set the reader's password. A reader who has one must give it; one who joined by an
    emailed link has none, and sets one. Raises AccountError naming the wrong field."""
    if user.password_hash and not user.check_password(current or ""):
        raise AccountError({"current_password": "That is not your current password."})
    set_password(user, new)


def set_password(user, new):
    """Set the reader's password without asking for the old one (a reset link stands in for
    it); raises AccountError when it is too short."""
    if len(new or "") < MIN_PASSWORD:
        raise AccountError({"new_password": f"Use at least {MIN_PASSWORD} characters."})
    user.set_password(new)
    with db.atomic():
        user.save(only=["password_hash"])


def _signer(purpose):
    # Signed, expiring tokens (itsdangerous, which Flask itself uses): nothing to store, and
    # each carries what must still hold when it is used, so it works once.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"pearl-{purpose}")


def _fingerprint(user):
    """Changes when the reader's password or address does: a reset link stops working then."""
    return hashlib.sha256(f"{user.email}\0{user.password_hash or ''}".encode()).hexdigest()[:20]


EMAIL_LINK_HOURS = 24
RESET_LINK_HOURS = 2


def email_change_token(user, new_email):
    """(token, address) for confirming `new_email` as the reader's address; raises
    AccountError when the address is not one or is already theirs."""
    email, problem = check_email(new_email)
    if problem:
        raise AccountError({"email": problem})
    if email == user.email:
        raise AccountError({"email": "That is already your address."})
    token = _signer("email").dumps({"id": user.id, "from": user.email, "to": email})
    return token, email


def confirm_email_change(token):
    """The reader whose address the token changes, with it changed; None when the link is
    unknown, expired or used (the address is no longer the one it was sent from). Raises
    AccountError when another account took the address meanwhile."""
    try:
        data = _signer("email").loads(token, max_age=EMAIL_LINK_HOURS * 3600)
    except BadData:
        return None
    user = User.get_or_none(User.id == data["id"])
    if user is None or user.email != data["from"]:
        return None
    with db.atomic():
        if User.by_email(data["to"]) is not None:
            raise AccountError({"email": "That address has an account here already."})
        user.email = data["to"]
        user.save(only=["email"])
    return user


def password_reset_token(user):
    """A token that lets the reader set a new password, once, for two hours."""
    return _signer("reset").dumps({"id": user.id, "f": _fingerprint(user)})


def reset_request(email):
    """(reader, token) for a "forgot password" request for `email` (in normal form). With no
    account the reader is None and a token is made all the same (it names nobody and is
    thrown away): both answers do the same work, so their time does not tell them apart."""
    user = User.by_email(email)
    return user, password_reset_token(user or User(email=email))


def reader_for_reset(token):
    """The reader a reset token is for, or None when it is unknown, expired or used."""
    try:
        data = _signer("reset").loads(token, max_age=RESET_LINK_HOURS * 3600)
    except BadData:
        return None
    user = User.get_or_none(User.id == data["id"])
    if user is None or _fingerprint(user) != data["f"]:
        return None
    return user


def delete_account(user):
    """Remove the reader and every row that names them (privacy.reader_models: their notes,
    stars, interests, issues, feedback, collections, correction alerts, sign-in links),
    in one transaction. Rows that hang on those (an issue's papers, a collection's) go
    with them through their ON DELETE CASCADE foreign keys."""
    with db.atomic():
        for model in privacy.reader_models():
            if model is not User:
                model.delete().where(privacy.naming(model, user)).execute()
        User.delete().where(User.id == user.id).execute()
