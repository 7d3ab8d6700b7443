"""Students' display names: plain text, never markup, one holder at a time.

A name is shown literally wherever it appears: `<script>` and `[x](javascript:...)` are names
like any other, and `as_markdown` escapes them for the places that render Markdown. Invisible
characters that change how the text around them reads (right-to-left marks and overrides,
zero-width joiners: Unicode's format characters) are removed; control characters are refused.
Uniqueness is the database's (students.name_key, see `name_key`), not a check before an insert.
"""

import re
import secrets
import unicodedata

from cnnviz.classroom.schema import NAME_MAX

ADJECTIVES = ("amber", "blue", "bold", "brave", "bright", "calm", "clever", "coral", "crimson",
              "curious", "eager", "gentle", "golden", "green", "jade", "keen", "kind", "lively",
              "lucky", "merry", "misty", "nimble", "olive", "patient", "quick", "quiet", "rosy",
              "silver", "steady", "sunny", "swift", "teal", "violet", "warm", "wise", "witty")
ANIMALS = ("badger", "beaver", "bison", "crane", "dolphin", "eagle", "falcon", "fox", "gecko",
           "heron", "ibis", "koala", "lark", "lemur", "lynx", "marten", "newt", "otter", "owl",
           "panda", "puffin", "quail", "raven", "robin", "seal", "sparrow", "stork", "swan",
           "tapir", "tiger", "toucan", "turtle", "walrus", "wombat", "wren", "yak")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&$:])")
REFUSED_CATEGORIES = {"Cc": "a control character", "Cs": "a lone surrogate",
                      "Co": "a private-use character", "Cn": "an unassigned character"}


class NameRefused(ValueError):
    """A display name that cannot be used; the message says what to change."""


def clean_name(raw: object) -> str:
    """The display name `raw` stands for: NFC, runs of whitespace as one space, format characters
    (bidi marks and overrides, zero-width characters) removed. NameRefused when it is not text,
    empty, over NAME_MAX characters, or holds a control character."""
    if not isinstance(raw, str):
        raise NameRefused(f"A name is text; got {type(raw).__name__}.")
    if len(raw) > 4 * NAME_MAX:  # refused before any work on a pasted book
        raise NameRefused(f"That name has {len(raw)} characters: keep it to {NAME_MAX} or fewer.")
    kept = "".join(char for char in unicodedata.normalize("NFC", raw)
                   if unicodedata.category(char) != "Cf")
    name = " ".join(kept.split())  # \n, \t and Unicode spaces: one plain space
    if not name:
        raise NameRefused("Type a name (letters or digits), or take a generated one.")
    for char in name:
        refused = REFUSED_CATEGORIES.get(unicodedata.category(char))
        if refused:
            raise NameRefused(f"Names cannot hold {refused} (U+{ord(char):04X}): remove it.")
    if len(name) > NAME_MAX:
        raise NameRefused(f"That name has {len(name)} characters: keep it to {NAME_MAX} or fewer.")
    return name


def name_key(name: str) -> str:
    """What two names must not share: the name folded (NFKC, casefold), so "Ada", "ADA" and
    "Ａｄａ" (full-width) are one name."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def generate_name() -> str:
    """A random name such as "blue-heron-12" (36 x 36 x 90 of them)."""
    return (f"{secrets.choice(ADJECTIVES)}-{secrets.choice(ANIMALS)}-"
            f"{10 + secrets.randbelow(90)}")


def plain_text(value: object, limit: int, what: str) -> str:
    """`value` as one line of plain text for the class's screens (a share's label, a question,
    a choice): NFC, no control or format characters, whitespace runs as one space, at most
    `limit` characters (longer text ends in "…"). TypeError when it is not text, ValueError
    naming `what` when it is empty."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be text, got {type(value).__name__}")
    kept = "".join(c for c in unicodedata.normalize("NFC", value[:8 * limit])
                   if c.isspace() or not unicodedata.category(c).startswith("C"))
    text = " ".join(kept.split())
    if not text:
        raise ValueError(f"{what} is empty: write it out")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def as_markdown(name: str) -> str:
    """`name` escaped for Markdown (st.markdown, table cells): shown literally, never a link,
    emphasis or HTML."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", name)
