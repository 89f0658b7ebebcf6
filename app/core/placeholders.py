"""Secrets that are obvious placeholders, refused when they are the whole value. Pure.

A value is judged with its case, diacritics and separators ignored (only its letters and digits
count), and it is refused when it is shorter than MIN_SECRET_LENGTH or, as a whole:
- one character or one group repeated: `aaaaaaaaaaaaaaaa`, `changeme-changeme-changeme`,
  `abcabcabcabcabcabc`, `xxxx-xxxx-xxxx-xxxx`;
- a run of consecutive characters: `abcdefghijklmnop`, `1234567890123456`;
- made only of placeholder words (PLACEHOLDER_WORDS, runs of `x`) and digits, with at least one word:
  `changeme`, `my-secret-password`, `admin_token_2025`, `your-token-here`, `xxxxxxxx-example`.

A word inside an otherwise random value is no reason to refuse it: `tthc_3kG…` from
`secrets.token_urlsafe` is accepted even when it happens to contain `test`.
"""

from __future__ import annotations

import unicodedata
from itertools import pairwise

MIN_SECRET_LENGTH = 16
RANDOM_SECRET_HINT = "use a random value, e.g. from `openssl rand -hex 32`"

# Lower case, letters and digits only (the value is compared after the same normalisation).
PLACEHOLDER_WORDS = frozenset(
    {
        "admin",
        "administrator",
        "api",
        "asdf",
        "asdfghjkl",
        "bar",
        "baz",
        "bimat",  # "bí mật", secret
        "change",
        "changeit",
        "changeme",
        "default",
        "demo",
        "dummy",
        "example",
        "fake",
        "fixme",
        "foo",
        "here",
        "insert",
        "is",
        "key",
        "letmein",
        "long",
        "matkhau",  # "mật khẩu", password
        "me",
        "my",
        "new",
        "not",
        "now",
        "our",
        "pass",
        "passwd",
        "password",
        "placeholder",
        "please",
        "put",
        "pwd",
        "qwerty",
        "qwertyuiop",
        "random",
        "real",
        "replace",
        "root",
        "sample",
        "secret",
        "secrets",
        "set",
        "strong",
        "super",
        "test",
        "tester",
        "testing",
        "the",
        "this",
        "todo",
        "token",
        "tokens",
        "tthc",
        "value",
        "very",
        "with",
        "your",
        "zxcvbnm",
    }
)
_LONGEST_WORD = max(len(w) for w in PLACEHOLDER_WORDS)


def normalise(value: str) -> str:
    """The value's letters and digits, case folded, Vietnamese diacritics dropped (`Mật khẩu` is
    `matkhau`): what the rules below look at."""
    folded = unicodedata.normalize("NFKD", value.casefold().replace("đ", "d"))
    return "".join(c for c in folded if c.isalnum() and not unicodedata.combining(c))


def is_repeated(s: str) -> bool:
    """One character or one group of characters repeated, the group at least twice."""
    return len(s) > 1 and s in (s + s)[1:-1]


def _step(a: str, b: str) -> int | None:
    """+1 or -1 when b follows or precedes a among the digits or the letters (cyclically), else None."""
    for alphabet in ("0123456789", "abcdefghijklmnopqrstuvwxyz"):
        if a in alphabet and b in alphabet:
            d = (alphabet.index(b) - alphabet.index(a)) % len(alphabet)
            return 1 if d == 1 else -1 if d == len(alphabet) - 1 else None
    return None


def is_consecutive_run(s: str) -> bool:
    """Each character the next (or each the previous) of the one before: `abcdef…`, `9876…`."""
    if len(s) < 2:
        return False
    first = _step(s[0], s[1])
    return first is not None and all(_step(a, b) == first for a, b in pairwise(s[1:]))


def is_placeholder_words(s: str) -> bool:
    """The whole of `s` cut into placeholder words, runs of `x` and runs of digits, one word at least."""
    n = len(s)
    # reach[i]: the ways s[:i] can be cut; bit 1: without a word so far, bit 2: with one.
    reach = [0] * (n + 1)
    reach[0] = 1
    for i in range(n):
        here = reach[i]
        if not here:
            continue
        if s[i].isdigit():
            reach[i + 1] |= here  # one more digit of a run of digits: no word by itself
        elif s[i] == "x":
            reach[i + 1] |= 2  # one more x of a run of x's: a word, as in "xxxx"
        for size in range(1, min(_LONGEST_WORD, n - i) + 1):
            if s[i : i + size] in PLACEHOLDER_WORDS:
                reach[i + size] |= 2
    return bool(reach[n] & 2)


def secret_weakness(value: str) -> str | None:
    """Why `value` may not serve as a secret, or None when it may."""
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    s = normalise(value)
    if not s:
        return "is a placeholder (it has no letters or digits)"
    if len(set(s)) == 1 or is_repeated(s):
        return "is a placeholder (one character or one group repeated)"
    if is_consecutive_run(s):
        return "is a placeholder (a run of consecutive characters)"
    if is_placeholder_words(s):
        return "is a placeholder (made of words such as changeme, secret, password, admin, token, example)"
    return None
