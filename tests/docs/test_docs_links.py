"""Every relative link in README.md and docs/ resolves: the file exists, and so does the anchor."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.docs.markdown import ROOT, anchor, anchors, links, markdown_files


def relative_links(path: Path) -> list[str]:
    return [
        link
        for link in links(path)
        if not link.startswith(("http://", "https://", "mailto:")) and "://" not in link
    ]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for link in relative_links(path):
        target, _, fragment = link.partition("#")
        resolved = (path.parent / unquote(target)).resolve() if target else path
        if not resolved.exists():
            broken.append(f"{link}: {resolved} does not exist")
            continue
        if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{link}: no heading #{fragment} in {resolved.name}")
    assert not broken, f"{path.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def test_the_link_checker_sees_links_and_anchors() -> None:
    readme = ROOT / "README.md"
    assert "docs/README.md" in relative_links(readme)
    assert anchor("Security and access keys") == "security-and-access-keys"
    assert anchor("`min_interactions` and *more*") == "min_interactions-and-more"
    assert "timing-what-is-faster-what-is-the-same" in anchors(ROOT / "docs" / "concepts.md")


def test_docs_index_lists_every_page() -> None:
    index = (ROOT / "docs" / "README.md").read_text()
    for page in sorted((ROOT / "docs").rglob("*.md")):
        name = page.relative_to(ROOT / "docs").as_posix()
        if name != "README.md":
            assert f"]({name})" in index, f"docs/README.md does not link {name}"
