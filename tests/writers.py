"""A reader at work in another process, for the concurrency tests: signs in and saves notes
through Pearl's own routes (Flask's test client) on a database file, as fast as it can,
until a stop file appears; then prints how many notes it saved.

    python -m tests.writers DATABASE STOPFILE
"""

import sys
from pathlib import Path

from app import create_app
from tests.conftest import AuthActions, csrf_token

PMID = 24997269


def write_notes(database, stop):
    app = create_app({"TESTING": True, "SECRET_KEY": "writer", "RATELIMIT_ENABLED": False,
                      "DATABASE_URL": f"sqlite:///{database}",
                      "INSTANCE_PATH": str(Path(database).parent / "writer-instance")})  # fmt: skip
    client = app.test_client()
    auth = AuthActions(app, client)
    auth.create(email="writer@example.org", name="Writer")
    auth.login(email="writer@example.org")
    token = csrf_token(client, f"/articles/{PMID}")
    saved = 0
    while not Path(stop).exists():
        response = client.post(f"/articles/{PMID}/notes",
                               data={"csrf_token": token, "body": f"note {saved}"})  # fmt: skip
        if response.status_code != 303:
            print(f"note refused: {response.status_code}", file=sys.stderr)
            return 1
        saved += 1
    print(saved)
    return 0


if __name__ == "__main__":
    sys.exit(write_notes(*sys.argv[1:]))
