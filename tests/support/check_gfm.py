#!/usr/bin/env python3
"""Reads a Markdown file as GitHub-flavoured Markdown, with a published
parser (markdown-it-py: CommonMark plus GFM tables), and prints what the
tests check as JSON: the headings, each table (header cells and rows of
cells, as the text a reader sees), and each fenced code block.

    python3 tests/support/check_gfm.py FILE

Exits 2, naming the package, when markdown-it-py is not installed.
"""

import json
import sys

try:
    from markdown_it import MarkdownIt
except ImportError:
    sys.stderr.write(
        "check_gfm.py: the markdown-it-py module is missing: pip install markdown-it-py"
        " (scripts/install-test-deps.sh installs it)\n"
    )
    sys.exit(2)


def text_of(inline):
    """The text an inline token shows: escapes undone, code spans as their
    code, line breaks as newlines."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type in ("html_inline",):
            parts.append(child.content)
    return "".join(parts)


def read(markdown):
    parser = MarkdownIt("commonmark").enable("table")
    tokens = parser.parse(markdown)
    headings, tables, fences, paragraphs = [], [], [], []
    table, row, in_head = None, None, False
    for i, token in enumerate(tokens):
        kind = token.type
        if kind == "heading_open":
            headings.append({"level": int(token.tag[1]), "text": text_of(tokens[i + 1])})
        elif kind == "paragraph_open" and table is None:
            paragraphs.append(text_of(tokens[i + 1]))
        elif kind == "table_open":
            table = {"header": [], "rows": []}
        elif kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open"):
            row.append(text_of(tokens[i + 1]))
        elif kind == "tr_close":
            if in_head:
                table["header"] = row
            else:
                table["rows"].append(row)
            row = None
        elif kind == "table_close":
            tables.append(table)
            table = None
        elif kind == "fence":
            fences.append({"info": token.info, "fence": token.markup, "text": token.content})
    return {"headings": headings, "tables": tables, "fences": fences, "paragraphs": paragraphs}


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: check_gfm.py FILE\n")
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        markdown = f.read()
    json.dump(read(markdown), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
