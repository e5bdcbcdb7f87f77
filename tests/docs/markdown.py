"""Reading the documentation: fenced code blocks with their info strings, and relative links."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_ATTR = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class CodeBlock:
    language: str
    attributes: dict[str, str]
    code: str
    line: int  # 1-based line of the opening fence


def code_blocks(path: Path) -> list[CodeBlock]:
    """Every fenced block of a Markdown file: ```python title="quickstart" → language, attrs."""
    text = path.read_text()
    blocks = []
    for match in _FENCE.finditer(text):
        info = match.group(1).strip()
        language = info.split()[0] if info else ""
        blocks.append(
            CodeBlock(
                language=language,
                attributes=dict(_ATTR.findall(info)),
                code=match.group(2),
                line=text.count("\n", 0, match.start()) + 1,
            )
        )
    return blocks


def runnable(path: Path, title: str = "quickstart") -> list[CodeBlock]:
    """The blocks marked ``title="<title>"``, in document order."""
    return [b for b in code_blocks(path) if b.attributes.get("title") == title]


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def without_code(text: str) -> str:
    """The text with fenced blocks and inline code removed (links there are examples)."""
    text = _FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def links(path: Path) -> list[str]:
    text = without_code(path.read_text())
    return [a or b for a, b in _LINK.findall(text)]


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces → hyphens."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text())
    seen: dict[str, int] = {}
    out = set()
    for heading in _HEADING.findall(text):
        slug = anchor(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out
