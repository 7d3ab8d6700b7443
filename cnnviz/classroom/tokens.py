"""The teacher's token: whoever opens /class?token=TOKEN is the teacher.

Set by `--teacher-token` or $CNNVIZ_TEACHER_TOKEN, else drawn at random when the app starts (as
Jupyter does) and printed in the teacher's link. Compared in constant time. Never logged: the
launcher prints the link once, to the terminal of whoever started the app.
"""

import hmac
import os
import secrets

TOKEN_ENV = "CNNVIZ_TEACHER_TOKEN"
TOKEN_BYTES = 24  # 192 random bits: 32 URL-safe characters
TOKEN_MIN = 16  # characters of a token chosen by hand


def new_token() -> str:
    """A fresh random token, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def teacher_token(given: str | None = None) -> str:
    """The class's token: `given` (--teacher-token), else $CNNVIZ_TEACHER_TOKEN, else a new one.
    ValueError when the one given is too short to guess-proof a class's data."""
    token = given or os.environ.get(TOKEN_ENV) or new_token()
    if len(token) < TOKEN_MIN or not token.isprintable() or token != token.strip():
        raise ValueError(f"The teacher token must be at least {TOKEN_MIN} printable characters "
                         f"without spaces around it: set --teacher-token or {TOKEN_ENV} again")
    return token


def token_matches(offered: object, token: str) -> bool:
    """Whether `offered` (the link's ?token=) is the token. Constant time in the content, so
    timing tells a guesser nothing; anything not a string (no token given) is refused alike."""
    if not isinstance(offered, str) or not token:
        return False
    return hmac.compare_digest(offered.encode(), token.encode())
