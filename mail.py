"""Sending mail: SMTP when MAIL_SERVER is set; otherwise (development) each message is written
to the instance folder's outbox/ and logged, so a sign-in link can be followed without a server."""

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import current_app

log = logging.getLogger("pearl.mail")


def send(to, subject, body):
    """Send a plain-text message to one address."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config.get("MAIL_SENDER") or "Pearl <pearl@localhost>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="pearl.local")
    message.set_content(body)
    if config.get("MAIL_SERVER"):
        _send_smtp(config, message)
    else:
        _write_outbox(Path(current_app.instance_path) / "outbox", message)


def _send_smtp(config, message):
    port = int(config.get("MAIL_PORT") or 25)
    with smtplib.SMTP(config["MAIL_SERVER"], port, timeout=15) as smtp:
        if _truthy(config.get("MAIL_USE_TLS")):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def _write_outbox(outbox, message):
    outbox.mkdir(parents=True, exist_ok=True)
    name = message["Message-ID"].strip("<>").replace("@", "_") + ".eml"
    (outbox / name).write_bytes(bytes(message))
    # No mail server in development: the log is where the reader's link shows up.
    log.warning("Mail to %s saved to %s:\n%s", message["To"], outbox / name, message.get_content())


def _truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")
