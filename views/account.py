"""The reader's own account (/account): display name, password, a change of address
confirmed from the new inbox, "forgot password" by emailed link, and deleting the account
with everything that names the reader after showing what will go and offering the exports.
Every form is a plain form that redirects (303) on success and comes back with the error
next to the field (422) otherwise."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, logout_user

import mail
import privacy
from accounts import (
    EMAIL_LINK_HOURS,
    RESET_LINK_HOURS,
    AccountError,
    change_password,
    check_email,
    confirm_email_change,
    delete_account,
    email_change_token,
    reader_for_reset,
    rename,
    reset_request,
    set_password,
)
from models import User, UserSession, db
from views.auth import sign_in_alone
from views.limits import client_and_address, limiter
from views.shelf import reader

bp = Blueprint("account", __name__)

# Each form that sends mail is limited per client, and per address from each client, as the
# trial's form is: a stranger asking for links to someone's address never uses up the owner's.
PER_CLIENT = "10 per hour"
PER_ADDRESS = "3 per hour"

# Said whether or not the address has an account, so the form tells no one which do.
RESET_SENT = (
    "We sent a message to {email}. If it has an account here, the message holds a link to "
    f"choose a new password; the link works once, for {RESET_LINK_HOURS} hours."
)


def _show(status=200, errors=None, form=None):
    """The account page (signed-in readers only), with `errors` next to their fields."""
    user = reader()
    return render_template("account/show.html", user=user, errors=errors or {},
                           form=form or {}), status  # fmt: skip


@bp.get("/account")
def show():
    """The reader's settings: name, address, password, exports, and deleting the account."""
    return _show()


@bp.post("/account/name")
def update_name():
    """Change the display name other readers see beside shared notes."""
    user = reader()
    try:
        rename(user, request.form.get("display_name"))
    except AccountError as error:
        return _show(422, error.errors, {"display_name": request.form.get("display_name", "")})
    flash("Your display name is changed.")
    return redirect(url_for("account.show"), 303)


@bp.post("/account/password")
def update_password():
    """Set a password (readers who joined by emailed link have none) or change it; every
    other browser signed in as the reader is signed out."""
    user = reader()
    had_one = bool(user.password_hash)
    try:
        change_password(
            user, request.form.get("current_password"), request.form.get("new_password")
        )
    except AccountError as error:
        return _show(422, error.errors)
    # Whoever knew the old password (or holds a copied cookie) is signed out everywhere.
    sign_in_alone(user)
    ended = "; you are signed out everywhere else"
    flash(("Your password is changed" if had_one else "Your password is set") + ended + ".")
    return redirect(url_for("account.show"), 303)


@bp.post("/account/email")
@limiter.limit(PER_CLIENT)
@limiter.limit(PER_ADDRESS, key_func=client_and_address("account-email"))
def update_email():
    """Send a confirmation link to the new address; the address changes when it is opened."""
    user = reader()
    try:
        token, email = email_change_token(user, request.form.get("email"))
    except AccountError as error:
        return _show(422, error.errors, {"email": request.form.get("email", "")})
    if User.by_email(email) is None:
        link = url_for("account.confirm_email", token=token, _external=True)
        mail.send(email, "Confirm your new address on Pearl", _email_message(user, link))
    else:  # the same answer on the page; the address's owner is told instead
        mail.send(email, "Someone tried to use your address on Pearl", _taken_message())
    flash(f"We sent a link to {email}. Your address changes when you open it "
          f"(within {EMAIL_LINK_HOURS} hours).")  # fmt: skip
    return redirect(url_for("account.show"), 303)


@bp.route("/account/email/<token>", methods=["GET", "POST"])
def confirm_email(token):
    """The emailed link: a page with one button (mail scanners open links; only a person
    presses it), which changes the address and ends the reader's other sessions."""
    if request.method == "GET":
        return render_template("account/confirm_email.html", token=token)
    try:
        user = confirm_email_change(token)
    except AccountError as error:
        return render_template("account/link_expired.html", reason=error.errors["email"]), 409
    if user is None:
        return render_template("account/link_expired.html"), 410
    # The address is a credential (sign-in and reset links go to it): whoever signed in
    # through the old one is signed out. This browser stays signed in if it was.
    if current_user.is_authenticated and current_user.id == user.id:
        sign_in_alone(user)
    else:
        with db.atomic():
            UserSession.end_all(user)
    flash(f"Your address is now {user.email}; you are signed out everywhere else.")
    return redirect(url_for("account.show"), 303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(PER_CLIENT, methods=["POST"])
@limiter.limit(PER_ADDRESS, key_func=client_and_address("account"), methods=["POST"])
def forgot_password():
    """Ask for a link to choose a new password. Every address gets one message (a link for
    an account, a note saying there is none otherwise) and the same answer, in the same time."""
    if request.method == "GET":
        return render_template("account/forgot.html", email=request.args.get("email", ""))
    typed = request.form.get("email", "").strip()
    email, problem = check_email(typed)
    if problem:  # says only that the text is not an address, nothing about accounts
        return render_template("account/forgot.html", email=typed, error=problem), 422
    user, token = reset_request(email)
    link = url_for("account.reset_password", token=token, _external=True)
    if user is not None:
        mail.send(email, "Choose a new password for Pearl", _reset_message(link))
    else:
        mail.send(email, "Someone asked to reset a password on Pearl", _no_account_message())
    return render_template("account/forgot.html", sent=RESET_SENT.format(email=email))


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    """The emailed reset link: choose a new password, then be signed in."""
    user = reader_for_reset(token)
    if user is None:
        return render_template("account/link_expired.html"), 410
    if request.method == "GET":
        return render_template("account/reset.html", token=token, errors={})
    try:
        # The link stands in for the current password: only the new one is asked for.
        set_password(user, request.form.get("new_password"))
    except AccountError as error:
        return render_template("account/reset.html", token=token, errors=error.errors), 422
    # Whoever knew the old password is signed out everywhere; this browser signs in afresh.
    sign_in_alone(user)
    flash("Your new password is set, and you are signed in.")
    return redirect(url_for("account.show"), 303)


@bp.route("/account/delete", methods=["GET", "POST"])
def delete():
    """What deleting the account removes, the exports to take first, and the confirmation
    (the reader types their address); posting it deletes everything that names them."""
    user = reader()
    counts = privacy.counts(user)
    if request.method == "GET":
        return render_template("account/delete.html", counts=counts, typed="", error=None)
    typed = request.form.get("confirm_email", "")
    if User.normalise_email(typed) != user.email:
        error = "Type your address exactly as shown to delete your account."
        return render_template("account/delete.html", counts=counts, typed=typed, error=error), 422
    delete_account(user)
    logout_user()
    flash("Your account is deleted, with your notes, stars, collections, interests and issues.")
    return redirect(url_for("articles.index"), 303)


@bp.errorhandler(429)
def too_many(_error):
    """Rate limited: say so, plainly."""
    flash("Too many requests for a link. Try again in an hour.")
    back = (
        "account.show" if request.endpoint == "account.update_email" else "account.forgot_password"
    )
    return redirect(url_for(back), 303)


def _email_message(user, link):
    return (
        f"Hello {user.display_name},\n\n"
        "You asked to use this address for your account on Pearl. Open this link within\n"
        f"{EMAIL_LINK_HOURS} hours to confirm it (it works once):\n\n{link}\n\n"
        "If you did not ask for this, ignore this message: nothing changes without the link.\n"
    )


def _taken_message():
    return (
        "Hello,\n\n"
        "Someone signed in to Pearl asked to move their account to this address, which already\n"
        "has an account here. Nothing was changed. If it was you, you can sign in with it.\n"
    )


def _no_account_message():
    # Sent so that an address without an account costs what one with an account does (one
    # message), as sign-up does for known addresses; only the inbox's owner reads it.
    return (
        "Hello,\n\n"
        "Someone (we hope you) asked to choose a new password for Pearl for this address, but\n"
        "there is no account here with this address, so nothing was changed. If it was you,\n"
        "perhaps you signed up with another address. Or start a free 21-day trial of the\n"
        f"Medical Journal of You at {url_for('articles.index', _external=True)}\n"
        f"or make an account at {url_for('auth.signup', _external=True)}\n\n"
        "If you did not ask for this, ignore this message.\n"
    )


def _reset_message(link):
    return (
        "Hello,\n\n"
        "You asked to choose a new password for Pearl. Open this link within "
        f"{RESET_LINK_HOURS} hours\n(it works once):\n\n{link}\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is.\n"
    )
