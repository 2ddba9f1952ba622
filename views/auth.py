"""Accounts: sign up, sign in (with "remember me"), sign out, sign out everywhere, and the
emailed sign-in links. No answer says whether an address has an account, by its text or by
its time; only same-site `next` URLs are followed; every signed-in browser is a row on the
server (UserSession), so signing out ends it for good."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

import mail
from accounts import AccountError, check_details
from models import LoginToken, User, UserSession, db
from views.limits import address, client_and_address, limiter, wait_text
from views.render import safe_next

bp = Blueprint("auth", __name__)
login_manager = LoginManager()

# Checked against when no account matches, or the account has no password (it signs in by
# emailed link), so every wrong sign-in costs one password hash: timing does not reveal
# which addresses have accounts, nor which of them have passwords.
_UNUSED_HASH = generate_password_hash("no account has this password")

# Password sign-in: per client, and failed attempts per address from anywhere (against a
# guesser spread over many clients). An address limited this way can still sign in by an
# emailed link (the trial form, which counts per client and address): a stranger can slow
# password guesses at someone's account, not lock its owner out.
SIGN_IN_PER_CLIENT = "30 per hour"
SIGN_IN_FAILURES_PER_ADDRESS = "10 per hour"
# Sign-up sends mail: per client, and per address from each client (as the trial form).
SIGN_UP_PER_CLIENT = "10 per hour"
SIGN_UP_PER_ADDRESS = "3 per hour"


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."


@login_manager.user_loader
def load_user(session_key):
    """The reader whose live session the cookie names (session or remember-me), else None:
    a cookie kept after sign-out names a session that no longer exists."""
    return UserSession.reader(session_key)


def sign_in(user, remember=False):
    """Start a server-side session for `user` and sign this browser into it (ending the one
    it had, so no session outlives the cookie that named it)."""
    with db.atomic():
        if current_user.is_authenticated:
            UserSession.end(current_user.session_key)
        UserSession.start(user)
    login_user(user, remember=remember)


def sign_in_alone(user):
    """End every session of `user`, in every browser, and sign this browser in afresh: after
    a new password or address, a copied cookie or a forgotten browser signs in no more. A
    browser already signed in as `user` with remember-me keeps it (a new cookie)."""
    remember = (
        current_user.is_authenticated
        and current_user.id == user.id
        and current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    )
    with db.atomic():
        UserSession.end_all(user)
        sign_in(user, remember=remember)


def _next_url():
    return safe_next(request.values.get("next"), url_for("articles.index"))


def _failed(response):
    return response.status_code != 303


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_PER_CLIENT, methods=["POST"])
@limiter.limit(SIGN_IN_FAILURES_PER_ADDRESS, methods=["POST"], key_func=address("login"),
               deduct_when=_failed)  # fmt: skip
def login():
    """The sign-in form; on success, back to the page the reader came from."""
    form = {"email": request.form.get("email", ""), "remember": "remember" in request.form}
    if request.method == "POST":
        user = User.by_email(form["email"])
        stored = user.password_hash if user is not None and user.password_hash else None
        matches = check_password_hash(stored or _UNUSED_HASH, request.form.get("password", ""))
        if matches and stored:
            sign_in(user, remember=form["remember"])
            return redirect(_next_url(), 303)
        form["error"] = "That email and password do not match an account. Check both and try again."
        return render_template("auth/login.html", form=form, next=_next_url()), 422
    return render_template("auth/login.html", form=form, next=_next_url())


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(SIGN_UP_PER_CLIENT, methods=["POST"])
@limiter.limit(SIGN_UP_PER_ADDRESS, methods=["POST"], key_func=client_and_address("signup"))
def signup():
    """The sign-up form: email, display name and password. The answer is "Check your inbox"
    whether or not the address has an account: a new address gets a link that makes the
    account, a known one a note saying so with a sign-in link (only its owner reads it)."""
    form = {key: request.form.get(key, "").strip() for key in ("email", "display_name")}
    if request.method == "GET":
        return render_template("auth/signup.html", form=form, errors={}, next=_next_url())
    password = request.form.get("password", "")
    try:
        email, display_name = check_details(form["email"], form["display_name"], password)
    except AccountError as error:
        context = {"form": form, "errors": error.errors, "next": _next_url()}
        return render_template("auth/signup.html", **context), 422
    # Hashed whether or not it is used, so both answers take the same time.
    password_hash = generate_password_hash(password)
    known = User.by_email(email) is not None
    with db.atomic():
        # A known address's link only signs in (its password stays as it was); a display
        # name on the token marks a sign-up link, which starts no trial.
        token = LoginToken.issue(email, display_name=display_name,
                                 password_hash=None if known else password_hash)  # fmt: skip
    link = url_for("auth.magic_link", token=token, next=_next_url(), _external=True)
    subject, body = _known_message(link) if known else _welcome_message(link)
    mail.send(email, subject, body)
    return render_template("auth/signup_sent.html", sent_to=email)


@bp.errorhandler(429)
def too_many(error):
    """Rate limited: the form again, saying when to try; sign-in also offers an emailed link,
    which a stranger's failed guesses at the address do not hold back."""
    wait = wait_text()
    if request.endpoint == "auth.signup":
        form = {key: request.form.get(key, "").strip() for key in ("email", "display_name")}
        errors = {"email": f"Too many sign-ups from here. Try again in {wait}."}
        context = {"form": form, "errors": errors, "next": _next_url()}
        return render_template("auth/signup.html", **context), 429
    form = {"email": request.form.get("email", ""), "remember": "remember" in request.form,
            "error": f"Too many sign-in attempts. Try again in {wait}, or get a sign-in link "
                     "by email below."}  # fmt: skip
    context = {"form": form, "next": _next_url(), "offer_link": True, "email": form["email"]}
    return render_template("auth/login.html", **context), 429


@bp.get("/auth/<token>")
def magic_link(token):
    """An emailed sign-in link: a page with one button that signs in. Opening the link signs
    nobody in and uses nothing up (mail scanners fetch links before their reader does)."""
    if not LoginToken.usable(token):
        return render_template("auth/link_expired.html"), 410
    page = render_template("auth/confirm.html", token=token, next=_next_url())
    return page, 200, {"Cache-Control": "no-store"}  # the token is in this page's address


@bp.post("/auth/<token>")
def redeem(token):
    """Follow an emailed sign-in link: once, within 24 hours. Signs the reader in, creating
    the account if the address is new; a trial link also starts the 21-day trial."""
    with db.atomic():
        sent = LoginToken.redeem(token)
        if sent is None:
            return render_template("auth/link_expired.html"), 410
        user = User.by_email(sent.email)
        signing_up = sent.display_name is not None
        if user is None:
            name = sent.display_name or sent.email.split("@")[0]
            user = User(email=sent.email, display_name=name, password_hash=sent.password_hash)
        if not signing_up:
            user.start_trial()
        user.save()
    sign_in(user, remember=not signing_up)
    if signing_up:
        return redirect(_next_url(), 303)
    days = user.trial_days_left()
    if days:
        flash(f"Welcome. Your free trial has started: {days} days left.")
    # The journal: on a first sign-in it opens the interests picker.
    return redirect(url_for("journal.show"), 303)


@bp.post("/logout")
def logout():
    """Sign out (a POST, so no link or image elsewhere can sign a reader out). The session
    ends on the server too: a copy of this browser's cookies no longer signs anyone in."""
    if current_user.is_authenticated:
        with db.atomic():
            UserSession.end(current_user.session_key)
    logout_user()
    return redirect(_next_url(), 303)


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every one of the reader's sessions: this browser, and any other (a shared PC, a
    lost phone, a copied cookie)."""
    with db.atomic():
        ended = UserSession.end_all(current_user._get_current_object())
    logout_user()
    flash(f"Signed out everywhere: {ended} session{'s' if ended != 1 else ''} ended.")
    return redirect(url_for("auth.login"), 303)


def signed_in_user():
    """The current reader's User, or None when signed out (what model queries take): the
    User itself, not Flask-Login's proxy, which looks it up again on every attribute read."""
    user = current_user._get_current_object()
    return user if user.is_authenticated else None


def _welcome_message(link):
    return "Confirm your new Pearl account", (
        "Hello,\n\n"
        "Someone (we hope you) asked to make a Pearl account with this address. Open this link\n"
        "within 24 hours to confirm it and sign in (it works once):\n\n"
        f"{link}\n\n"
        "If you did not ask for this, ignore this message: no account is made without the link.\n"
    )


def _known_message(link):
    return "You already have a Pearl account", (
        "Hello,\n\n"
        "Someone (we hope you) tried to make a Pearl account with this address, which already\n"
        "has one, so nothing was changed. To sign in, open this link within 24 hours\n"
        "(it works once), or sign in with your password as usual:\n\n"
        f"{link}\n\n"
        "If this was not you, ignore this message: your account and password are as they were.\n"
    )
