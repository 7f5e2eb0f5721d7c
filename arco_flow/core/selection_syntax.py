"""The asset selection string syntax: a hand-written tokenizer, parser and printer.

Pure. Turns Dagster's selection language into `AssetSelection` trees and back: every string
`format_selection` (`AssetSelection.to_selection_str`) writes parses back to an equivalent
tree, so both directions live here. Parsed trees are immutable; parses are cached by string.
Errors are `SelectionError`s that echo the string with a caret under the problem, say what
was expected and show a correct example.

Grammar, loosest binding first (``not`` binds tighter than ``and``, ``and`` than ``or``,
and the traversal marks tighter than all three)::

    selection := or_expr EOF
    or_expr   := and_expr (("or" | "OR") and_expr)*
    and_expr  := not_expr (("and" | "AND") not_expr)*
    not_expr  := ("not" | "NOT") not_expr | "*" | traversal
    traversal := [DIGITS? "+"] primary ["+" DIGITS?]      N+x: N steps up; x+N: N down
    primary   := attribute | ("sinks" | "roots") "(" or_expr ")" | "(" or_expr ")"
    attribute := "key:" value | "key_substring:" value | "group:" value
               | "tag:" value ["=" value] | "owner:" value | "kind:" value | "is:" value
               | "check:" (value [":" value] | "*")
    value     := WORD | DIGITS | QUOTED | "<null>"
    WORD      := [A-Za-z0-9_*] [A-Za-z0-9_*/.@-]*     (a lone "*" is the all-assets token)
    QUOTED    := '"' (a character but '"' or a backslash | a backslash and any character)* '"'

A key value with ``/`` is a key path; ``*`` in a key or group value is a wildcard matching
any characters. ``not x`` is every executable asset except ``x``. Two legacy forms are
accepted, as in Dagster, only as the whole string: a bare key with optional marks
(``orders``, ``*orders``, ``raw/orders+``, ``++orders*``: ``*`` all the way, each ``+`` one
step) and ``tag:key=value`` with characters the grammar rejects (``tag:team=``).

Beyond Dagster's grammar (strings Dagster rejects; none changes meaning): unquoted values
may start with a digit and hold ``.``, ``-`` and ``@``, quoted strings take backslash
escapes, any word (``and``, ``key``) is a value after ``:``, and ``key_substring:`` and
``key:*`` parse. Deliberately different: an exact ``key:`` value must name a defined asset
when resolved (Dagster silently selects nothing), ``owner:<null>`` selects unowned assets
(Dagster: nothing), and attributes that need run-time state (``status:``, ``column:`` ...)
or a workspace (``code_location:``) are rejected when parsing.

Asset checks: an asset attribute picks the checks of the assets it resolves to, as in
Dagster (`AssetSelection.resolve_checks`). Beyond Dagster (whose parser has no check
attribute): ``check:orders:no_nulls`` (or quoted, ``check:"raw/orders:no_nulls"``) is one
check, ``check:"orders:*"`` every check of an asset, ``check:*`` every check; each selects
checks and no asset, so ``key:orders and not check:*`` is `without_checks()` and
``key:orders and not check:orders:slow`` drops one check.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache

from arco_flow.core.errors import ArcoError, SelectionError, did_you_mean
from arco_flow.core.keys import AssetCheckKey, AssetKey
from arco_flow.core.selection import (
    AllAssetCheckSelection,
    AllSelection,
    AndAssetSelection,
    AssetCheckKeysSelection,
    AssetChecksForAssetKeysSelection,
    AssetSelection,
    DownstreamAssetSelection,
    GroupsAssetSelection,
    GroupWildCardAssetSelection,
    IsAttributeAssetSelection,
    KeyPrefixesAssetSelection,
    KeysAssetSelection,
    KeySubstringAssetSelection,
    KeyWildCardAssetSelection,
    KindAssetSelection,
    OrAssetSelection,
    OwnerAssetSelection,
    RootsAssetSelection,
    SinksAssetSelection,
    SubtractAssetSelection,
    TagAssetSelection,
    UpstreamAssetSelection,
)

__all__ = ["format_selection", "parse_selection"]

_WORD, _DIGITS, _QUOTED, _NULL, _STAR, _EOF = "word", "digits", "quoted", "null", "*", "eof"
_LPAREN, _RPAREN, _COLON, _EQUAL, _PLUS = "(", ")", ":", "=", "+"
_PUNCTUATION = {c: c for c in "():=+"}
_WORD_START = frozenset(string.ascii_letters + string.digits + "_*")
_WORD_REST = _WORD_START | frozenset("/.@-")
_SPACE = frozenset(" \t\r\n")
_AND_WORDS = frozenset({"and", "AND"})
_OR_WORDS = frozenset({"or", "OR"})
_NOT_WORDS = frozenset({"not", "NOT"})
_KEYWORDS = _AND_WORDS | _OR_WORDS | _NOT_WORDS
_FUNCTIONS = frozenset({"sinks", "roots"})

_EXAMPLE = 'key:"raw/orders"+ or (group:marketing and not tag:pii)'
_ATTRIBUTE_EXAMPLES = {
    "key": 'key:orders, key:"raw/orders" or key:"raw/*"',
    "key_substring": "key_substring:orders",
    "group": 'group:marketing or group:"mark*"',
    "tag": 'tag:pii or tag:team=data or tag:"team"="data eng"',
    "owner": 'owner:"alice@example.com" or owner:"team:data"',
    "kind": "kind:dbt or kind:<null>",
    "is": "is:external or is:materializable",
    "check": 'check:orders:no_nulls, check:"raw/orders:no_nulls", check:"orders:*" or check:*',
}
_NULL_ATTRIBUTES = frozenset({"group", "owner", "kind"})
_WILDCARD_ATTRIBUTES = frozenset({"key", "group", "check"})
_NEEDS_STATE = (
    "status",
    "column",
    "table_name",
    "column_tag",
    "changed_in_branch",
    "partitions",
    "automation_type",
    "sensor",
    "schedule",
    "job",
    "not_materialized_in_hours",
)
_UNSUPPORTED = {
    "code_location": "a selection resolves within one code location's asset graph",
    **dict.fromkeys(
        _NEEDS_STATE, "it needs run-time state or metadata that the asset graph does not hold"
    ),
}
_CHARACTER_HINTS = {
    ",": "combine selections with 'or', e.g. key:a or key:b",
    "'": 'quote values with double quotes, e.g. key:"raw/orders"',
    "&": "write 'and'",
    "|": "write 'or'",
    "!": "write 'not'",
    "-": "write 'and not', e.g. group:raw and not key:orders",
}

# Legacy whole-string forms (Dagster's op-selection clause, and its `tag:` fallback).
_LEGACY_CLAUSE = re.compile(r"(\*?\+*)([\w./\[\]?-]+)(\+*\*?)")
_LEGACY_TAG = re.compile(r'tag:([^\s"()=<>*]+)(?:=([^\s"()=<>*]*))?')


def parse_selection(text: str, *, include_sources: bool = False) -> AssetSelection:
    """Parses a selection string into an `AssetSelection`.

    Args:
        text: the selection, e.g. ``'key:"raw/orders"+ and not tag:pii'``.
        include_sources: make ``*``, ``not`` and the group, tag, kind and key_substring
            filters include external assets (Dagster's ``include_sources``).

    Raises:
        SelectionError: the string is not valid; the message points at the problem.
    """
    if not isinstance(text, str):
        raise SelectionError(f"an asset selection string must be a str, got {text!r}")
    return _parse(text, include_sources)


@lru_cache(maxsize=1024)
def _parse(text: str, include_sources: bool) -> AssetSelection:
    try:
        legacy = _parse_legacy(text)
        if legacy is not None:
            return legacy
        return _Parser(text, include_sources).parse()
    except _ParseFailure as failure:
        tag = _LEGACY_TAG.fullmatch(text.strip())
        if tag is not None:
            return AssetSelection.tag(tag[1], tag[2] or "", include_sources=include_sources)
        # The failure carries everything worth telling; its traceback would only add noise.
        raise SelectionError(_describe(text, failure)) from None


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    """The token as written; for a quoted string, its value without quotes and escapes."""
    start: int


class _ParseFailure(Exception):
    """Internal: where the string went wrong; `_parse` turns it into a `SelectionError`."""

    def __init__(self, position: int, message: str, example: str = _EXAMPLE) -> None:
        super().__init__(message)
        self.position = position
        self.message = message
        self.example = example


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position, end = 0, len(text)
    while position < end:
        char = text[position]
        if char in _SPACE:
            position += 1
        elif char in _PUNCTUATION:
            tokens.append(_Token(_PUNCTUATION[char], char, position))
            position += 1
        elif char in _WORD_START:
            stop = position + 1
            while stop < end and text[stop] in _WORD_REST:
                stop += 1
            word = text[position:stop]
            kind = _DIGITS if word.isdigit() else _STAR if word == "*" else _WORD
            tokens.append(_Token(kind, word, position))
            position = stop
        elif char == '"':
            value, stop = _read_quoted(text, position)
            tokens.append(_Token(_QUOTED, value, position))
            position = stop
        elif text.startswith("<null>", position):
            tokens.append(_Token(_NULL, "<null>", position))
            position += len("<null>")
        else:
            hint = _CHARACTER_HINTS.get(char, "")
            raise _ParseFailure(
                position, f"unexpected character {char!r}" + (f": {hint}" if hint else "")
            )
    tokens.append(_Token(_EOF, "", end))
    return tokens


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The value of the quoted string opening at `start`, and the position after it."""
    closing = text.find('"', start + 1)
    if closing != -1 and "\\" not in text[start + 1 : closing]:
        return text[start + 1 : closing], closing + 1
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == '"':
            return "".join(chars), position + 1
        if char == "\\" and position + 1 < len(text):
            position += 1
            char = text[position]
        chars.append(char)
        position += 1
    raise _ParseFailure(start, "this quoted string is never closed: end it with '\"'")


class _Parser:
    __slots__ = ("include_sources", "position", "tokens")

    def __init__(self, text: str, include_sources: bool) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.include_sources = include_sources

    def parse(self) -> AssetSelection:
        if self.peek().kind == _EOF:
            raise _ParseFailure(0, "the selection is empty: write * to select every asset")
        selection = self.parse_or()
        token = self.peek()
        if token.kind != _EOF:
            raise self.unexpected(token, "'and', 'or' or the end of the selection")
        return selection

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def at_word(self, words: frozenset[str]) -> bool:
        token = self.tokens[self.position]
        return token.kind == _WORD and token.text in words

    def expect(self, kind: str, what: str, example: str = _EXAMPLE) -> _Token:
        token = self.peek()
        if token.kind != kind:
            raise self.unexpected(token, what, example)
        self.position += 1
        return token

    def unexpected(self, token: _Token, what: str, example: str = _EXAMPLE) -> _ParseFailure:
        if token.kind == _EOF:
            found = "the end of the selection"
        elif token.kind == _QUOTED:
            found = f'the quoted string "{token.text}"'
        else:
            found = repr(token.text)
        return _ParseFailure(token.start, f"expected {what}, got {found}", example)

    def parse_or(self) -> AssetSelection:
        selection = self.parse_and()
        while self.at_word(_OR_WORDS):
            self.position += 1
            selection = selection | self.parse_and()
        return selection

    def parse_and(self) -> AssetSelection:
        selection = self.parse_not()
        while self.at_word(_AND_WORDS):
            self.position += 1
            selection = selection & self.parse_not()
        return selection

    def parse_not(self) -> AssetSelection:
        token = self.peek()
        if token.kind == _WORD and token.text in _NOT_WORDS:
            self.position += 1
            return AssetSelection.all(include_sources=self.include_sources) - self.parse_not()
        if token.kind == _STAR:
            self.position += 1
            if self.peek().kind == _PLUS:
                raise _ParseFailure(
                    self.peek().start,
                    "'*' already selects every asset and cannot be traversed",
                    'key:"raw/*"+ (a wildcard key) or sinks(*)',
                )
            return AssetSelection.all(include_sources=self.include_sources)
        return self.parse_traversal()

    def parse_traversal(self) -> AssetSelection:
        token = self.peek()
        up_depth: int | None = None
        has_up = token.kind in (_PLUS, _DIGITS)
        if token.kind == _DIGITS:
            self.position += 1
            self.expect(_PLUS, f"'+' after the depth {token.text}", f"{token.text}+key:orders")
            up_depth = int(token.text)
        elif token.kind == _PLUS:
            self.position += 1
        selection = self.parse_primary()
        if self.peek().kind != _PLUS:
            return selection.upstream(up_depth) if has_up else selection
        self.position += 1
        down_depth: int | None = None
        if self.peek().kind == _DIGITS:
            down_depth = int(self.peek().text)
            self.position += 1
        if self.peek().kind == _PLUS:
            raise _ParseFailure(
                self.peek().start, "one '+' per side: write +N to walk N steps", "key:orders+2"
            )
        downstream = selection.downstream(down_depth)
        return selection.upstream(up_depth) | downstream if has_up else downstream

    def parse_primary(self) -> AssetSelection:
        token = self.peek()
        if token.kind == _LPAREN:
            self.position += 1
            inner = self.parse_or()
            self.expect(_RPAREN, f"')' to close the '(' at column {token.start + 1}")
            return inner
        if token.kind != _WORD or token.text in _KEYWORDS:
            if token.kind == _PLUS:
                raise _ParseFailure(
                    token.start, "one '+' per side: write N+ to walk N steps", "2+key:orders"
                )
            if token.kind == _STAR:
                raise _ParseFailure(
                    token.start,
                    "'*' selects every asset and cannot be traversed or grouped here",
                    'key:"raw/*"+ (a wildcard key)',
                )
            raise self.unexpected(
                token, "a selection such as key:orders, group:marketing, sinks(...) or (...)"
            )
        following = self.tokens[self.position + 1]
        if following.kind == _COLON:
            return self.parse_attribute()
        if token.text in _FUNCTIONS:
            self.position += 1
            example = f"{token.text}(group:marketing)"
            self.expect(_LPAREN, f"'(' after {token.text}", example)
            inner = self.parse_or()
            self.expect(_RPAREN, f"')' to close {token.text}(", example)
            return inner.sinks() if token.text == "sinks" else inner.roots()
        raise _ParseFailure(
            token.start,
            f"{token.text!r} is not an attribute or function: a bare asset name is only accepted "
            f"as the whole selection; inside an expression write key:{token.text}",
            f"key:{token.text} or group:marketing",
        )

    def parse_attribute(self) -> AssetSelection:
        name_token = self.peek()
        name = name_token.text
        if name in _UNSUPPORTED:
            raise _ParseFailure(
                name_token.start,
                f"'{name}:' is not supported in Arco Flow selections: {_UNSUPPORTED[name]}",
            )
        if name not in _ATTRIBUTE_EXAMPLES:
            guess = did_you_mean(name, _ATTRIBUTE_EXAMPLES)
            supported = ", ".join(f"{n}:" for n in _ATTRIBUTE_EXAMPLES)
            raise _ParseFailure(
                name_token.start, f"unknown attribute '{name}:'.{guess} Supported: {supported}"
            )
        self.position += 2
        value = self.parse_value(name)
        try:
            if name == "check":
                return self.parse_check(value)
            if name == "tag":
                if self.peek().kind != _EQUAL:
                    return AssetSelection.tag(value.text, "", self.include_sources)
                self.position += 1
                tag_value = self.parse_value(name)
                if self.peek().kind == _EQUAL:
                    raise _ParseFailure(
                        self.peek().start,
                        "a tag takes one '=': quote a value that contains '='",
                        'tag:team="a=b"',
                    )
                return AssetSelection.tag(value.text, tag_value.text, self.include_sources)
            return self.build(name, value)
        except SelectionError as error:
            raise _ParseFailure(value.start, str(error), _ATTRIBUTE_EXAMPLES[name]) from error

    def parse_check(self, value: _Token) -> AssetSelection:
        """``check:*``, ``check:asset:name`` (also quoted) or ``check:"asset:*"``."""
        text = value.text
        if value.kind != _QUOTED and self.peek().kind == _COLON:
            self.position += 1
            name = self.parse_value("check")
            text = f"{text}:{name.text}"
        if value.kind == _STAR or text == "*":
            return AssetSelection.all_asset_checks()
        asset, separator, check_name = text.rpartition(":")
        if not separator or not asset or not check_name:
            raise SelectionError(
                f"{text!r} is not an asset check key: write the asset key, ':' and the check's "
                "name, e.g. check:orders:no_nulls"
            )
        if check_name == "*":
            return AssetSelection.checks_for_assets(_key(asset))
        if "*" in text:
            raise SelectionError("a check value takes '*' only as the whole check name")
        return AssetSelection.checks(AssetCheckKey(_key(asset), check_name))

    def parse_value(self, name: str) -> _Token:
        token = self.peek()
        example = _ATTRIBUTE_EXAMPLES[name]
        if token.kind not in (_WORD, _DIGITS, _QUOTED, _NULL, _STAR):
            raise self.unexpected(
                token, f"a value after '{name}:', a name or a \"quoted string\"", example
            )
        if token.kind == _NULL and name not in _NULL_ATTRIBUTES:
            raise _ParseFailure(
                token.start, "'<null>' is only accepted after group:, owner: and kind:", example
            )
        if token.kind != _QUOTED and "*" in token.text and name not in _WILDCARD_ATTRIBUTES:
            raise _ParseFailure(
                token.start, "wildcards ('*') work in key: and group: values only", example
            )
        self.position += 1
        return token

    def build(self, name: str, value: _Token) -> AssetSelection:
        text = None if value.kind == _NULL else value.text
        sources = self.include_sources
        if name == "key":
            if "*" in value.text:
                return KeyWildCardAssetSelection(selected_key_wildcard=value.text)
            return AssetSelection.assets(_key(value.text))
        if name == "key_substring":
            return AssetSelection.key_substring(value.text, include_sources=sources)
        if name == "group":
            if text is None:
                return AssetSelection.groups(include_sources=sources)
            if "*" in text:
                return GroupWildCardAssetSelection(
                    selected_group_wildcard=text, include_sources=sources
                )
            return AssetSelection.groups(text, include_sources=sources)
        if name == "owner":
            return AssetSelection.owner(text)
        if name == "kind":
            return AssetSelection.kind(text, include_sources=sources)
        return IsAttributeAssetSelection(attribute=value.text)


def _key(text: str) -> AssetKey:
    try:
        return AssetKey.from_user_string(text)
    except ArcoError as error:
        raise SelectionError(
            f"{text!r} is not a valid asset key: key parts are letters, digits, '_', '-' and "
            "'.', separated by '/'"
        ) from error


def _parse_legacy(text: str) -> AssetSelection | None:
    stripped = text.strip()
    match = _LEGACY_CLAUSE.fullmatch(stripped)
    if match is None:
        return None
    up_marks, name, down_marks = match.groups()
    try:
        selection = AssetSelection.assets(_key(name))
    except SelectionError as error:
        offset = len(text) - len(text.lstrip()) + len(up_marks)
        raise _ParseFailure(offset, str(error), 'raw/orders+ or key:"raw/orders"+') from error
    up_depth, down_depth = _legacy_depth(up_marks), _legacy_depth(down_marks)
    if up_marks and down_marks:
        return selection.upstream(up_depth) | selection.downstream(down_depth)
    if up_marks:
        return selection.upstream(up_depth)
    if down_marks:
        return selection.downstream(down_depth)
    return selection


def _legacy_depth(marks: str) -> int | None:
    return None if "*" in marks else len(marks)


def _describe(text: str, failure: _ParseFailure) -> str:
    shown = text.translate(str.maketrans("\t\r\n", "   "))
    return (
        f"invalid asset selection at column {failure.position + 1}: {failure.message}\n"
        f"    {shown}\n"
        f"    {' ' * failure.position}^\n"
        f"For example: {failure.example}"
    )


# -- printing ---------------------------------------------------------------------------

# How tightly a string form binds, loosest first: a part that binds more loosely than its
# position needs is put in parentheses.
_BIND_OR, _BIND_AND, _BIND_NOT, _BIND_TRAVERSAL, _BIND_PRIMARY = range(1, 6)


def format_selection(selection: AssetSelection) -> str:
    """The string form of `selection`; `parse_selection` parses it back to an equivalent.

    A difference is written ``a and not b``, and ``not`` ranges over executable assets (as
    in Dagster), so external assets picked by ``a`` drop out of the string form.

    Raises:
        SelectionError: the syntax cannot express `selection`: key prefixes, multi-asset
            neighbours, and filters with ``include_sources=True`` other than ``all()``.
    """
    return _format(selection)[1]


def _format(selection: AssetSelection) -> tuple[int, str]:  # one case per node
    match selection:
        case AllSelection(include_sources=False):
            return _BIND_NOT, "*"
        case AllSelection():
            return _BIND_OR, "is:materializable or is:external"
        case KeysAssetSelection(selected_keys=keys):
            if not keys:
                return _BIND_NOT, "not *"  # the empty selection
            return _any_of([f"key:{_quote(key.to_user_string())}" for key in keys])
        case KeyWildCardAssetSelection(selected_key_wildcard=pattern):
            return _BIND_PRIMARY, f"key:{_quote(pattern)}"
        case KeySubstringAssetSelection(selected_key_substring=part, include_sources=False):
            return _BIND_PRIMARY, f"key_substring:{_quote(part)}"
        case GroupsAssetSelection(selected_groups=groups, include_sources=False):
            if not groups:
                return _BIND_PRIMARY, "group:<null>"
            return _any_of([f"group:{_quote(group)}" for group in groups])
        case GroupWildCardAssetSelection(selected_group_wildcard=pattern, include_sources=False):
            return _BIND_PRIMARY, f"group:{_quote(pattern)}"
        case TagAssetSelection(key=key, value=value, include_sources=False):
            return _BIND_PRIMARY, f"tag:{_quote(key)}" + (f"={_quote(value)}" if value else "")
        case OwnerAssetSelection(selected_owner=owner):
            return _BIND_PRIMARY, "owner:" + ("<null>" if owner is None else _quote(owner))
        case KindAssetSelection(kind_str=kind, include_sources=False):
            return _BIND_PRIMARY, "kind:" + ("<null>" if kind is None else _quote(kind))
        case IsAttributeAssetSelection(attribute=attribute):
            return _BIND_PRIMARY, f"is:{attribute}"
        case AllAssetCheckSelection():
            return _BIND_PRIMARY, "check:*"
        case AssetCheckKeysSelection(selected_asset_check_keys=check_keys):
            if not check_keys:
                return _BIND_NOT, "not *"
            return _any_of([f"check:{_quote(key.to_user_string())}" for key in check_keys])
        case AssetChecksForAssetKeysSelection(selected_asset_keys=asset_keys):
            if not asset_keys:
                return _BIND_NOT, "not *"
            return _any_of([f"check:{_quote(key.to_user_string() + ':*')}" for key in asset_keys])
        case OrAssetSelection(operands=operands):
            return _BIND_OR, " or ".join(_operand(part, _BIND_OR) for part in operands)
        case AndAssetSelection(operands=operands):
            return _BIND_AND, " and ".join(_operand(part, _BIND_AND) for part in operands)
        case SubtractAssetSelection(left=AllSelection(include_sources=False), right=right):
            return _BIND_NOT, f"not {_operand(right, _BIND_NOT)}"
        case SubtractAssetSelection(left=left, right=right):
            return _BIND_AND, f"{_operand(left, _BIND_AND)} and not {_operand(right, _BIND_NOT)}"
        case UpstreamAssetSelection(child=child, depth=depth, include_self=include_self):
            inner = _operand(child, _BIND_PRIMARY)
            return _traversal(f"{'' if depth is None else depth}+{inner}", child, include_self)
        case DownstreamAssetSelection(child=child, depth=depth, include_self=include_self):
            inner = _operand(child, _BIND_PRIMARY)
            return _traversal(f"{inner}+{'' if depth is None else depth}", child, include_self)
        case RootsAssetSelection(child=child):
            return _BIND_PRIMARY, f"roots({format_selection(child)})"
        case SinksAssetSelection(child=child):
            return _BIND_PRIMARY, f"sinks({format_selection(child)})"
    if isinstance(selection, KeyPrefixesAssetSelection):
        what = 'key prefixes (a wildcard such as key:"raw/*" comes close)'
    elif getattr(selection, "include_sources", False):
        what = "include_sources=True"
    else:
        what = "this operation"
    raise SelectionError(
        f"{type(selection).__name__} has no string form: the selection syntax cannot express "
        f"{what}. Keep it as an AssetSelection object."
    )


def _any_of(texts: list[str]) -> tuple[int, str]:
    return (_BIND_PRIMARY if len(texts) == 1 else _BIND_OR), " or ".join(texts)


def _traversal(text: str, child: AssetSelection, include_self: bool) -> tuple[int, str]:
    if include_self:
        return _BIND_TRAVERSAL, text
    return _BIND_AND, f"{text} and not {_operand(child, _BIND_NOT)}"


def _operand(selection: AssetSelection, loosest: int) -> str:
    binding, text = _format(selection)
    return text if binding >= loosest else f"({text})"


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
