"""A real SMTP server for the tests (aiosmtpd on localhost), as a fixture every test module
can use: `smtp_server` keeps what Pearl sends; its `config` points an app at it."""

import socket

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps every message it is sent."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"


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
