"""Accounts: sign up, sign in (with "remember me"), sign out. Sign-in errors never say
whether an address has an account, and only same-site `next` URLs are followed."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from accounts import AccountError, create_account
from models import LoginToken, User, db
from views.render import safe_next

bp = Blueprint("auth", __name__)
login_manager = LoginManager()

# Checked against when no account matches, so a wrong address costs the same time as a
# wrong password and timing does not reveal which addresses have accounts.
_UNUSED_HASH = generate_password_hash("no account has this password")


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."


@login_manager.user_loader
def load_user(user_id):
    return User.get_or_none(User.id == int(user_id)) if user_id.isdigit() else None


def _next_url():
    return safe_next(request.values.get("next"), url_for("articles.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form; on success, back to the page the reader came from."""
    form = {"email": request.form.get("email", ""), "remember": "remember" in request.form}
    if request.method == "POST":
        user = User.by_email(form["email"])
        password = request.form.get("password", "")
        if user is not None and user.check_password(password):
            login_user(user, remember=form["remember"])
            return redirect(_next_url(), 303)
        if user is None:
            check_password_hash(_UNUSED_HASH, password)
        form["error"] = "That email and password do not match an account. Check both and try again."
        return render_template("auth/login.html", form=form, next=_next_url()), 422
    return render_template("auth/login.html", form=form, next=_next_url())


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """The sign-up form: email, display name and password; signs the new reader in."""
    form = {key: request.form.get(key, "").strip() for key in ("email", "display_name")}
    errors = {}
    if request.method == "POST":
        try:
            user = create_account(
                form["email"], form["display_name"], request.form.get("password", "")
            )
        except AccountError as error:
            context = {"form": form, "errors": error.errors, "next": _next_url()}
            return render_template("auth/signup.html", **context), 422
        login_user(user)
        return redirect(_next_url(), 303)
    return render_template("auth/signup.html", form=form, errors=errors, next=_next_url())


@bp.get("/auth/<token>")
def magic_link(token):
    """Follow an emailed sign-in link: once, within 24 hours. Signs the reader in (creating
    the account if the address is new) and starts their 21-day trial."""
    with db.atomic():
        email = LoginToken.redeem(token)
        if email is None:
            return render_template("auth/link_expired.html"), 410
        user = User.by_email(email) or User(email=email, display_name=email.split("@")[0])
        user.start_trial()
        user.save()
    login_user(user, remember=True)
    days = user.trial_days_left()
    if days:
        flash(f"Welcome. Your free trial has started: {days} days left.")
    # The journal: on a first sign-in it opens the interests picker.
    return redirect(url_for("journal.show"), 303)


@bp.post("/logout")
def logout():
    """Sign out (a POST, so no link or image elsewhere can sign a reader out)."""
    logout_user()
    return redirect(_next_url(), 303)


def signed_in_user():
    """The current reader's User, or None when signed out (what model queries take)."""
    return current_user if current_user.is_authenticated else None
