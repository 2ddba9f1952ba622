"""The free 21-day trial of the Medical Journal of You: one email field that sends a sign-in
link. The answer is the same whether or not the address has an account, and requests are
rate-limited per client, and per address from each client: a stranger asking for links to
someone's address uses up only their own allowance, never the owner's."""

from flask import Blueprint, request, url_for
from flask_login import current_user

import mail
from accounts import check_email
from models import LoginToken, db
from views.limits import client_and_address, limiter, wait_text
from views.render import page

bp = Blueprint("trial", __name__)

PER_CLIENT = "10 per hour"
PER_ADDRESS = "3 per hour"


@bp.app_context_processor
def _trial_state():
    """Every page can show the reader's trial: days left, or that it has ended."""
    if not current_user.is_authenticated:
        return {"trial_days_left": None}
    return {"trial_days_left": current_user.trial_days_left()}


@bp.post("/trial")
@limiter.limit(PER_CLIENT)
@limiter.limit(PER_ADDRESS, key_func=client_and_address("trial"))
def start():
    """Send a sign-in link that starts the trial; the form swaps for "Check your inbox"."""
    typed = request.form.get("email", "").strip()
    email, problem = check_email(typed)
    if problem:
        return page("trial/form_page.html", "trial", 422, email=typed, error=problem)
    with db.atomic():
        token = LoginToken.issue(email)
    link = url_for("auth.magic_link", token=token, _external=True)
    mail.send(email, "Your sign-in link for the Medical Journal of You", _message(link))
    return page("trial/form_page.html", "trial", sent_to=email)


@bp.errorhandler(429)
def too_many(error):
    """Rate limited: the form again, saying when to try."""
    message = f"Too many requests for a sign-in link. Try again in {wait_text()}."
    typed = request.form.get("email", "").strip()
    return page("trial/form_page.html", "trial", 429, email=typed, error=message)


def _message(link):
    return (
        "Hello,\n\n"
        "You asked to try the Medical Journal of You on Pearl. Open this link within 24 hours\n"
        "to sign in and start your free 21-day trial (it works once):\n\n"
        f"{link}\n\n"
        "If you did not ask for this, ignore this message: nothing happens without the link.\n"
        "We guarantee your privacy. Your email address will not be shared.\n"
    )
