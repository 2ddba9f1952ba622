"""gunicorn's access log without the secrets that travel in URLs: a sign-in link's token,
a journal feed's key, any query string. Whoever reads the logs (or the log shipper) must not
be able to sign in as a reader or read their journal."""

import re

from gunicorn.glogging import Logger

# A path segment after one of these is a secret: /auth/<token>, /journal/feed/<key>.atom,
# /password/reset/<token>, /account/email/<token>.
SECRET_SEGMENT = re.compile(r"(/(?:auth|feed|reset|email)/)[^/?#\s\"]+")


def redact(url):
    """`url` (a path or a full URL) with its query string and secret path segments hidden."""
    if not url or url == "-":
        return url
    path, question, _query = url.partition("?")
    return SECRET_SEGMENT.sub(r"\1[redacted]", path) + ("?[redacted]" if question else "")


class RedactingLogger(Logger):
    """gunicorn's logger, redacting the request line, path, query and referrer atoms."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        method, _, rest = atoms["r"].partition(" ")
        uri, _, protocol = rest.rpartition(" ")
        atoms["r"] = f"{method} {redact(uri)} {protocol}"
        atoms["U"] = redact(atoms["U"])
        atoms["q"] = "[redacted]" if atoms["q"] else ""
        atoms["f"] = redact(atoms["f"])
        for header in ("{referer}i", "{cookie}i", "{authorization}i"):  # a custom format's
            if header in atoms:
                atoms[header] = "[redacted]"
        return atoms
