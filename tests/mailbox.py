"""A real SMTP server for the tests (aiosmtpd on localhost), as a fixture every test module
can use: `smtp_server` keeps what Pearl sends; its `config` points an app at it."""

import email
import email.policy
import re
import socket

import pytest
from aiosmtpd.controller import Controller

LINK = re.compile(r"http://localhost/auth/([\w-]+)")


class Inbox:
    """An aiosmtpd handler that keeps every message it is sent."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"

    def texts(self):
        """The messages' bodies as a mail client shows them (quoted-printable decoded)."""
        return [email.message_from_bytes(m.content, policy=email.policy.default).get_content()
                for m in self.messages]  # fmt: skip

    def links(self):
        """The sign-in tokens in the messages, in order."""
        return [LINK.search(text).group(1) for text in self.texts()]

    def paths(self):
        """The sign-in links in the messages as paths (with their ?next=)."""
        return [re.search(r"http://localhost(/auth/\S+)", text).group(1) for text in self.texts()]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on localhost, keeping what it receives."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": controller.port,
                    "MAIL_SENDER": "Pearl <pearl@example.org>"}  # fmt: skip
    yield inbox
    controller.stop()
