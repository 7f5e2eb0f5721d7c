"""Canonical JSON (RFC 8785, JCS) and SHA-256 fingerprints.

Pure. This is the one codec for manifests, plans and events: equal values give equal
bytes in any process, on any machine, under any ``PYTHONHASHSEED``.

The rules of RFC 8785 that differ from ``json.dumps(sort_keys=True)``: object members are
ordered by their UTF-16 code units (not code points), and numbers use the ECMAScript
``Number.prototype.toString`` form (``100`` not ``100.0``, ``1e+21``, ``1e-7``). Values with
no floats and no astral-plane keys take the C encoder, which then gives identical bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from arco_flow.core.errors import CanonicalJsonError

__all__ = [
    "canonical_json",
    "canonical_json_bytes",
    "fingerprint",
    "has_plain_json_form",
    "loads",
]

# The largest integer an IEEE double holds exactly; JCS numbers are doubles.
_MAX_SAFE_INT = 2**53 - 1

_fast_encoder = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
_encode_string = json.encoder.encode_basestring  # C-accelerated


def canonical_json(value: Any, *, plain: bool = False) -> str:
    """Returns the RFC 8785 canonical JSON text of `value`.

    Accepts dicts with string keys, lists, tuples, strings, booleans, None, ints within
    ±(2**53 - 1) and finite floats.

    Args:
        value: the value to encode.
        plain: the caller guarantees `has_plain_json_form(value)` (it built the value from
            checked parts), so the check is skipped.

    Raises:
        CanonicalJsonError: for any other value, naming where in `value` it sits.
    """
    if plain or _is_fast_path_safe(value):
        return _fast_encoder.encode(value)
    parts: list[str] = []
    _encode(value, parts, "$")
    return "".join(parts)


def canonical_json_bytes(value: Any) -> bytes:
    """The UTF-8 bytes of `canonical_json(value)`."""
    try:
        return canonical_json(value).encode("utf-8")
    except UnicodeEncodeError as error:
        raise CanonicalJsonError(
            f"a string in the value is not valid Unicode (lone surrogate): {error}"
        ) from error


def fingerprint(value: Any, *, plain: bool = False) -> str:
    """The SHA-256 hex digest of the canonical JSON of `value` (see `canonical_json`)."""
    if plain:
        return hashlib.sha256(_fast_encoder.encode(value).encode("utf-8")).hexdigest()
    return hashlib.sha256(canonical_json_bytes(value)).hexdigest()


def has_plain_json_form(value: Any) -> bool:
    """Whether `json.dumps(sort_keys=True)` already writes `value` canonically.

    True unless the value holds an int past the double range, a float whose Python form
    differs from ECMAScript's, a non-string or astral-plane key, or a type JSON lacks.
    """
    return _is_fast_path_safe(value)


def loads(text: str | bytes) -> Any:
    """Parses JSON text (canonical or not); the inverse of `canonical_json`.

    JSON numbers are doubles: an integer literal past ±(2**53 - 1) comes back as the float
    it stands for, so that decoding and encoding again gives the same text.
    """
    return json.loads(text, parse_int=_parse_int)


def _parse_int(literal: str) -> int | float:
    value = int(literal)
    return value if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else float(value)


def _is_fast_path_safe(value: Any) -> bool:
    """Whether the C encoder gives the canonical bytes for `value`.

    It does unless the value holds an int past the double range, a float whose Python
    ``repr`` is not its ECMAScript form, a non-string key, an astral-plane key (sorted
    differently in UTF-16), or a type JSON lacks.
    """
    stack = [value]
    pop = stack.pop
    while stack:
        item = pop()
        cls = item.__class__
        if cls is str or cls is bool or item is None:
            continue
        if cls is int:
            if -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                continue
            return False
        if cls is float:
            # Both forms are the shortest round-trip digits; they are written alike for a
            # non-integral number between 1e-4 and 1e16 (no exponent, no trailing ".0").
            magnitude = abs(item)
            if 1e-4 <= magnitude < 1e16 and not item.is_integer():
                continue
            return False
        if cls is dict:
            for key in item:
                if key.__class__ is not str or (not key.isascii() and max(key) > "\uffff"):
                    return False
            stack.extend(item.values())
        elif cls is list or cls is tuple:
            stack.extend(item)
        else:
            return False
    return True


def _encode(value: Any, out: list[str], where: str) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, int):
        if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            out.append(str(int(value)))
        elif _is_exact_double(value):
            # A larger integer that a double holds exactly (2**53, 10**21 …) is the same
            # JSON number as that double, and must be written the same way.
            out.append(_format_number(float(value), where))
        else:
            raise CanonicalJsonError(
                f"integer at {where} ({value}) cannot be held exactly by a JSON number "
                "(an IEEE double); store it as a string"
            )
    elif isinstance(value, float):
        out.append(_format_number(value, where))
    elif isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalJsonError(
                    f"object key {key!r} at {where} is a {type(key).__name__}; "
                    "JSON object keys must be strings"
                )
        out.append("{")
        first = True
        for key in sorted(value, key=_utf16_sort_key):
            if not first:
                out.append(",")
            first = False
            out.append(_encode_string(key))
            out.append(":")
            _encode(value[key], out, f"{where}.{key}")
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out, f"{where}[{index}]")
        out.append("]")
    else:
        raise CanonicalJsonError(
            f"value at {where} is a {type(value).__name__}, which has no JSON form; "
            "convert it to a string, number, list or dict first"
        )


def _is_exact_double(value: int) -> bool:
    try:
        return int(float(value)) == value
    except OverflowError:
        return False


def _utf16_sort_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _format_number(value: float, where: str) -> str:
    """ECMAScript ``Number.prototype.toString`` for a finite double (RFC 8785 §3.2.2.3)."""
    if not math.isfinite(value):
        raise CanonicalJsonError(
            f"number at {where} is {value!r}; JSON has no NaN or infinity, store it as a string"
        )
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) <= _MAX_SAFE_INT:
        return str(int(value))
    text = repr(value)
    mantissa, _, exponent_text = text.partition("e")
    if not exponent_text:
        # repr uses plain notation only for 1e-4 <= |x| < 1e16, with the same shortest
        # round-trip digits as JS; JS never writes a trailing ".0".
        return text[:-2] if text.endswith(".0") else text
    # Python's shortest round-trip digits, rewritten into the JS layout.
    sign = "-" if mantissa.startswith("-") else ""
    digits_part = mantissa.lstrip("-")
    integer, _, fraction = digits_part.partition(".")
    digits = (integer + fraction).rstrip("0") or "0"
    exponent = int(exponent_text) + len(integer)  # value = 0.digits * 10**exponent
    k = len(digits)
    if k <= exponent <= 21:
        return sign + digits + "0" * (exponent - k)
    if 0 < exponent <= 21:
        return sign + digits[:exponent] + "." + digits[exponent:]
    if -6 < exponent <= 0:
        return sign + "0." + "0" * (-exponent) + digits
    exp = exponent - 1
    exp_text = f"e+{exp}" if exp >= 0 else f"e-{-exp}"
    if k == 1:
        return sign + digits + exp_text
    return sign + digits[0] + "." + digits[1:] + exp_text
