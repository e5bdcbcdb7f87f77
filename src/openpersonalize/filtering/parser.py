"""Recursive-descent parser: filter text → :class:`FilterExpression`.

Grammar (keywords, targets, dataset names, ``CurrentItem`` / ``CurrentUser`` are matched
case-insensitively and ignoring underscores, so ``itemId``, ``ITEM_ID`` and ``ItemID`` are one
word; column and placeholder names keep their spelling)::

    filter      := expression ( "|" expression )*
    expression  := action target WHERE or_group [ IF user_cond ( AND user_cond )* ]
    or_group    := and_group ( OR and_group )*
    and_group   := condition ( AND condition )*
    condition   := dataset "." COLUMN ( IN list | NOT IN list | cmp operand )
    user_cond   := CurrentUser "." COLUMN ( IN list | NOT IN list | cmp operand )
    list        := "(" literal ( "," literal )* ")" | "(" $PARAM ")" | CurrentItem "." COLUMN
    literal     := STRING | NUMBER | "*"
    operand     := STRING | NUMBER | $PARAM | "(" $PARAM ")" | CurrentItem "." COLUMN
    cmp         := "=" | "!=" | "<" | "<=" | ">" | ">="

Only syntax is checked here; what depends on the dataset group's schemas (and the rules that
are about meaning, such as where placeholders may appear) is in :mod:`.validate`.
"""

from __future__ import annotations

from openpersonalize.errors import InvalidInputException
from openpersonalize.filtering.ast import (
    Action,
    Condition,
    CurrentItemRef,
    Dataset,
    Expression,
    Field,
    FilterExpression,
    Literal,
    NumberLiteral,
    Op,
    Operand,
    Placeholder,
    StringLiteral,
    Target,
    UserCondition,
    ValueList,
    Wildcard,
)
from openpersonalize.filtering.tokens import Token, TokenKind, invalid_symbol, tokenize


def _norm(word: str) -> str:
    return word.replace("_", "").upper()


_ACTIONS = {a.value: a for a in Action}
_TARGETS = {_norm(t.value): t for t in Target}
_DATASETS = {_norm(d.value): d for d in Dataset}
_CURRENT_ITEM = "CURRENTITEM"
_CURRENT_USER = "CURRENTUSER"
_CMP = {op.value: op for op in Op if not op.is_list}


def parse(expression: str) -> FilterExpression:
    """Parse a filter expression. Raises InvalidInputException (never anything else)."""
    if not expression.strip():
        raise InvalidInputException("Could not create filter. The filter expression is empty.")
    return _Parser(tokenize(expression)).filter()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    # --- token helpers ---------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if t.kind is not TokenKind.EOF:
            self.i += 1
        return t

    def at(self, kind: TokenKind) -> bool:
        return self.tok.kind is kind

    def at_word(self, *words: str) -> bool:
        return self.tok.kind is TokenKind.WORD and _norm(self.tok.value) in words

    def fail(self, detail: str, tok: Token | None = None) -> InvalidInputException:
        t = tok or self.tok
        return invalid_symbol(t.describe(), t.position, detail)

    def expect_word(self, word: str, detail: str) -> Token:
        if not self.at_word(word):
            raise self.fail(detail)
        return self.advance()

    def expect(self, kind: TokenKind, detail: str) -> Token:
        if self.tok.kind is not kind:
            raise self.fail(detail)
        return self.advance()

    # --- grammar ---------------------------------------------------------------------------

    def filter(self) -> FilterExpression:
        expressions = [self.expression()]
        while self.tok.kind is TokenKind.PIPE:
            self.advance()
            expressions.append(self.expression())
        if self.tok.kind is not TokenKind.EOF:
            if self.at_word("IF"):
                raise self.fail("IF can be used only once, at the end of an expression.")
            raise self.fail("Expected AND, OR, IF, '|' or the end of the expression.")
        return FilterExpression(tuple(expressions))

    def expression(self) -> Expression:
        start = self.tok
        if not self.at_word(*_ACTIONS):
            raise self.fail("An expression starts with INCLUDE or EXCLUDE.")
        action = _ACTIONS[_norm(self.advance().value)]
        if not self.at_word(*_TARGETS):
            raise self.fail("Expected ItemID, ActionID or UserID after " + action.value + ".")
        target = _TARGETS[_norm(self.advance().value)]
        self.expect_word("WHERE", f"Expected WHERE after {target.value}.")
        groups = [self.and_group()]
        while self.at_word("OR"):
            self.advance()
            groups.append(self.and_group())
        ifs: list[UserCondition] = []
        if self.at_word("IF"):
            self.advance()
            ifs.append(self.user_condition())
            while self.at_word("AND"):
                self.advance()
                ifs.append(self.user_condition())
            if self.at_word("OR"):
                raise self.fail("IF conditions can only be combined with AND.")
        return Expression(action, target, tuple(groups), tuple(ifs), start.position)

    def and_group(self) -> tuple[Condition, ...]:
        conditions = [self.condition()]
        while self.at_word("AND"):
            self.advance()
            conditions.append(self.condition())
        return tuple(conditions)

    def condition(self) -> Condition:
        start = self.tok
        if self.at_word(_CURRENT_USER):
            raise self.fail("CurrentUser can only be used in an IF clause at the end.")
        if self.at_word(_CURRENT_ITEM):
            raise self.fail("CurrentItem can only be used on the right of an operator.")
        if not self.at_word(*_DATASETS):
            raise self.fail(
                "Expected a dataset field such as Items.GENRES or Interactions.EVENT_TYPE."
            )
        dataset = _DATASETS[_norm(self.advance().value)]
        column = self.column(dataset.value)
        op, operand = self.predicate()
        return Condition(Field(dataset, column), op, operand, start.position)

    def user_condition(self) -> UserCondition:
        start = self.tok
        if not self.at_word(_CURRENT_USER):
            raise self.fail(
                "The IF clause takes only CurrentUser conditions, e.g. CurrentUser.AGE > 18."
            )
        self.advance()
        column = self.column("CurrentUser")
        op, operand = self.predicate()
        return UserCondition(column, op, operand, start.position)

    def column(self, owner: str) -> str:
        self.expect(TokenKind.DOT, f"Expected '.' and a column name after {owner}.")
        if self.tok.kind is not TokenKind.WORD:
            raise self.fail(f"Expected a column name after {owner}.")
        return self.advance().value

    def predicate(self) -> tuple[Op, Operand]:
        if self.at_word("IN"):
            self.advance()
            return Op.IN, self.list_operand()
        if self.at_word("NOT"):
            self.advance()
            self.expect_word("IN", "NOT must be followed by IN.")
            return Op.NOT_IN, self.list_operand()
        if self.tok.kind is TokenKind.OPERATOR:
            op = _CMP[self.advance().value]
            return op, self.scalar_operand()
        raise self.fail("Expected IN, NOT IN, =, !=, <, <=, > or >=.")

    def current_item(self) -> CurrentItemRef:
        start = self.advance()
        return CurrentItemRef(self.column("CurrentItem"), start.position)

    def list_operand(self) -> Operand:
        if self.at_word(_CURRENT_ITEM):
            return self.current_item()
        self.expect(TokenKind.LPAREN, 'Expected \'(\' and a list of values, e.g. ("a", "b").')
        if self.tok.kind is TokenKind.PARAM:
            param = self.advance()
            if self.at(TokenKind.COMMA):
                raise self.fail("A placeholder must be the only element of its list.")
            self.expect(TokenKind.RPAREN, "Expected ')' after the placeholder.")
            return Placeholder(param.value, param.position)
        values = [self.literal()]
        while self.tok.kind is TokenKind.COMMA:
            self.advance()
            values.append(self.literal())
        self.expect(TokenKind.RPAREN, "Expected ',' or ')' in the list of values.")
        return ValueList(tuple(values))

    def literal(self) -> Literal:
        t = self.tok
        if t.kind is TokenKind.STRING:
            self.advance()
            return StringLiteral(t.value)
        if t.kind is TokenKind.NUMBER:
            self.advance()
            return NumberLiteral(t.value)
        if t.kind is TokenKind.STAR:
            self.advance()
            return Wildcard()
        if t.kind is TokenKind.PARAM:
            raise self.fail("A placeholder must be the only element of its list.")
        raise self.fail("Expected a double-quoted string, a number or *.")

    def scalar_operand(self) -> Operand:
        t = self.tok
        if t.kind is TokenKind.STRING:
            self.advance()
            return StringLiteral(t.value)
        if t.kind is TokenKind.NUMBER:
            self.advance()
            return NumberLiteral(t.value)
        if t.kind is TokenKind.PARAM:
            self.advance()
            return Placeholder(t.value, t.position)
        if t.kind is TokenKind.LPAREN:
            self.advance()
            param = self.expect(TokenKind.PARAM, "Only a placeholder may be in parentheses here.")
            self.expect(TokenKind.RPAREN, "Expected ')' after the placeholder.")
            return Placeholder(param.value, param.position)
        if self.at_word(_CURRENT_ITEM):
            return self.current_item()
        raise self.fail("Expected a number, a string, a $PLACEHOLDER or CurrentItem.COLUMN.")
