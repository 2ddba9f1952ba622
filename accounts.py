"""The rules for accounts, shared by the sign-up form and `flask create-user`."""

from email_validator import EmailNotValidError, validate_email

from models import User, db

MIN_PASSWORD = 10
MAX_NAME = 60


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


def check_details(email, display_name, password):
    """The address in normal form and the trimmed name; raises AccountError naming every
    field that is wrong. Says nothing about whether the address has an account."""
    errors = {}
    email, problem = check_email(email)
    if problem:
        errors["email"] = problem
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > MAX_NAME:
        errors["display_name"] = (
            f"Give a name other readers will see (up to {MAX_NAME} characters)."
        )
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
