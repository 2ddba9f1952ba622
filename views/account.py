"""The reader's own account (/account): display name, password, a change of address
confirmed from the new inbox, "forgot password" by emailed link, and deleting the account
with everything that names the reader after showing what will go and offering the exports.
Every form is a plain form that redirects (303) on success and comes back with the error
next to the field (422) otherwise."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import logout_user

import mail
import privacy
from accounts import (
    EMAIL_LINK_HOURS,
    RESET_LINK_HOURS,
    AccountError,
    change_password,
    confirm_email_change,
    delete_account,
    email_change_token,
    password_reset_token,
    reader_for_reset,
    rename,
    set_password,
)
from models import User, UserSession, db
from views.auth import sign_in
from views.limits import client_and_address, limiter
from views.shelf import reader

bp = Blueprint("account", __name__)

# Each form that sends mail is limited per client, and per address from each client, as the
# trial's form is: a stranger asking for links to someone's address never uses up the owner's.
PER_CLIENT = "10 per hour"
PER_ADDRESS = "3 per hour"

# Said whether or not the address has an account, so the form tells no one which do.
RESET_SENT = (
    "If {email} has an account here, we sent it a link to choose a new password. "
    f"The link works once, for {RESET_LINK_HOURS} hours."
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
    """Set a password (readers who joined by emailed link have none) or change it."""
    user = reader()
    had_one = bool(user.password_hash)
    try:
        change_password(
            user, request.form.get("current_password"), request.form.get("new_password")
        )
    except AccountError as error:
        return _show(422, error.errors)
    flash("Your password is changed." if had_one else "Your password is set.")
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
    presses it), which changes the address."""
    if request.method == "GET":
        return render_template("account/confirm_email.html", token=token)
    try:
        user = confirm_email_change(token)
    except AccountError as error:
        return render_template("account/link_expired.html", reason=error.errors["email"]), 409
    if user is None:
        return render_template("account/link_expired.html"), 410
    flash(f"Your address is now {user.email}.")
    return redirect(url_for("account.show"), 303)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(PER_CLIENT, methods=["POST"])
@limiter.limit(PER_ADDRESS, key_func=client_and_address("account"), methods=["POST"])
def forgot_password():
    """Ask for a link to choose a new password; the answer is the same for every address."""
    if request.method == "GET":
        return render_template("account/forgot.html", email=request.args.get("email", ""))
    email = User.normalise_email(request.form.get("email"))
    user = User.by_email(email) if email else None
    if user is not None:
        link = url_for("account.reset_password", token=password_reset_token(user), _external=True)
        mail.send(user.email, "Choose a new password for Pearl", _reset_message(link))
    return render_template(
        "account/forgot.html", sent=RESET_SENT.format(email=email or "that address")
    )


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
    with db.atomic():
        UserSession.end_all(user)
    sign_in(user)
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


def _reset_message(link):
    return (
        "Hello,\n\n"
        "You asked to choose a new password for Pearl. Open this link within "
        f"{RESET_LINK_HOURS} hours\n(it works once):\n\n{link}\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is.\n"
    )
