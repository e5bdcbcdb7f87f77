"""Tokenizer of the filter language: a string becomes a list of positioned tokens.

Positions are 1-based character columns into the whole expression (newlines count as one
character), so that every error can say where the problem is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from openpersonalize.errors import InvalidInputException

MAX_EXPRESSION_LENGTH = 2500
MAX_PARAMETER_NAME_LENGTH = 50


class TokenKind(Enum):
    WORD = "word"  # keywords, dataset names, column names (the parser decides which)
    STRING = "string"  # "double quoted"; value is the unescaped text
    NUMBER = "number"  # value is the source text, e.g. "-1.5e3"
    PARAM = "param"  # $NAME; value is NAME
    OPERATOR = "operator"  # = != < <= > >=
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    DOT = "."
    PIPE = "|"
    STAR = "*"
    EOF = "end of expression"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    value: str
    position: int  # 1-based column of the first character

    def describe(self) -> str:
        if self.kind is TokenKind.EOF:
            return "end of expression"
        if self.kind is TokenKind.STRING:
            return f'"{self.value}"'
        if self.kind is TokenKind.PARAM:
            return f"${self.value}"
        return self.value


def invalid_symbol(symbol: str, position: int, detail: str = "") -> InvalidInputException:
    """The AWS-style error for a malformed expression, pointing at ``symbol``."""
    message = f"Could not create filter. Invalid input symbol: {symbol} at position {position}."
    if detail:
        message += f" {detail}"
    return InvalidInputException(message)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_PARAM_NAME = re.compile(r"[A-Za-z0-9_]+")
_SINGLE = {
    "(": TokenKind.LPAREN,
    ")": TokenKind.RPAREN,
    ",": TokenKind.COMMA,
    ".": TokenKind.DOT,
    "|": TokenKind.PIPE,
    "*": TokenKind.STAR,
}
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with one EOF token.

    Raises InvalidInputException for characters outside the language, unterminated strings,
    bad escapes, over-long parameter names and non-finite numbers.
    """
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise InvalidInputException(
            f"Could not create filter. The filter expression is {len(text)} characters long; "
            f"the maximum is {MAX_EXPRESSION_LENGTH}."
        )
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        pos = i + 1
        if ch.isspace():
            i += 1
            continue
        if ch in _SINGLE:
            tokens.append(Token(_SINGLE[ch], ch, pos))
            i += 1
            continue
        if ch == '"':
            value, i = _read_string(text, i)
            tokens.append(Token(TokenKind.STRING, value, pos))
            continue
        if ch == "$":
            m = _PARAM_NAME.match(text, i + 1)
            if m is None:
                raise invalid_symbol("$", pos, "A placeholder needs a name, e.g. $GENRE.")
            name = m.group()
            if len(name) > MAX_PARAMETER_NAME_LENGTH:
                raise invalid_symbol(
                    f"${name[:20]}...",
                    pos,
                    f"Placeholder names are at most {MAX_PARAMETER_NAME_LENGTH} characters.",
                )
            tokens.append(Token(TokenKind.PARAM, name, pos))
            i = m.end()
            continue
        m = _NUMBER.match(text, i)
        if m is not None:
            after = m.end()
            if after < n and (text[after].isalnum() or text[after] == "_"):
                raise invalid_symbol(_symbol_at(text, i), pos)
            if not math.isfinite(float(m.group())):
                raise invalid_symbol(m.group(), pos, "Number out of range.")
            tokens.append(Token(TokenKind.NUMBER, m.group(), pos))
            i = after
            continue
        m = _WORD.match(text, i)
        if m is not None:
            tokens.append(Token(TokenKind.WORD, m.group(), pos))
            i = m.end()
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token(TokenKind.OPERATOR, op, pos))
            i += len(op)
            continue
        detail = "String values must be in double quotes." if ch in "'`\u201c\u201d" else ""
        raise invalid_symbol(repr(ch)[1:-1] if not ch.isprintable() else ch, pos, detail)
    tokens.append(Token(TokenKind.EOF, "", n + 1))
    return tokens


def _symbol_at(text: str, i: int) -> str:
    """The run of word-like characters starting at ``i``, for error messages."""
    j = i
    while j < len(text) and (text[j].isalnum() or text[j] in "_.-"):
        j += 1
    return text[i:j] or text[i]


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Read a double-quoted string starting at ``start``; returns (value, index after it).

    ``\\"`` and ``\\\\`` are the only escapes: a value may itself contain a quote.
    """
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            if i + 1 < n and text[i + 1] in '"\\':
                out.append(text[i + 1])
                i += 2
                continue
            raise invalid_symbol("\\", i + 1, 'Only \\" and \\\\ are escapes inside strings.')
        out.append(ch)
        i += 1
    raise invalid_symbol('"', start + 1, "Unterminated string.")


def quote_string(value: str) -> str:
    """The source form of a string value (the inverse of reading a STRING token)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
