"""Generate a module's inputs and outputs tables from its variables.tf and outputs.tf.

    python scripts/terraform_docs.py README.md .                      # rewrite the tables in place
    python scripts/terraform_docs.py --check README.md . modules/*/README.md ...

Arguments come in pairs: a markdown file and the module directory it documents. The tables go
between <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS -->. With --check nothing is written and the
exit status is 1 when a file's tables differ from the code (the test suite runs this).

The parser understands the HCL this repository writes (terraform fmt'ed variable and output blocks),
not HCL in general: top-level attributes of each block, values spanning lines while brackets are open.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"
BLOCK_START = re.compile(r'^(variable|output) "([^"]+)" \{\s*$')
ATTRIBUTE = re.compile(r"^  ([a-z_]+)\s*=\s*(.*)$")


@dataclass
class Variable:
    name: str
    description: str
    type: str
    default: Optional[str]
    sensitive: bool


@dataclass
class Output:
    name: str
    description: str


def _bracket_balance(text: str) -> int:
    """Open minus closed brackets outside string literals."""
    balance, in_string, escaped = 0, False, False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "([{":
            balance += 1
        elif character in ")]}":
            balance -= 1
    return balance


def _blocks(path: Path) -> Iterator[Tuple[str, str, Dict[str, str]]]:
    """(kind, name, top-level attributes as raw HCL) for each variable or output block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        start = BLOCK_START.match(lines[index])
        index += 1
        if not start:
            continue
        attributes: Dict[str, str] = {}
        while index < len(lines) and lines[index] != "}":
            line = lines[index]
            index += 1
            attribute = ATTRIBUTE.match(line)
            if attribute:
                key, value = attribute.groups()
                while _bracket_balance(value) > 0:
                    value += "\n" + lines[index]
                    index += 1
                attributes[key] = value
            elif line.startswith("  ") and line.rstrip().endswith("{"):
                depth = 1  # a nested block (validation, lifecycle): skip it
                while depth:
                    depth += _bracket_balance(lines[index])
                    index += 1
        yield start.group(1), start.group(2), attributes


def _compact(hcl: str) -> str:
    """One-line HCL: multi-line objects and lists become { a = 1, b = 2 }."""
    parts = [part.strip() for part in hcl.splitlines()]
    text = ""
    for part in parts:
        if not part:
            continue
        if text and not text.endswith(("(", "[", "{")) and not part.startswith((")", "]", "}")):
            text += ", " if not text.endswith(",") else " "
        elif text and (text.endswith(("(", "[", "{")) or part.startswith((")", "]", "}"))):
            text += " "
        text += part
    return re.sub(r" {2,}", " ", re.sub(r",\s*([)\]}])", r" \1", text))


def read_module(directory: Path) -> Tuple[List[Variable], List[Output]]:
    variables: List[Variable] = []
    outputs: List[Output] = []
    for path in sorted(directory.glob("*.tf")):
        for kind, name, attributes in _blocks(path):
            description = json.loads(attributes.get("description", '""'))
            if kind == "variable":
                default = attributes.get("default")
                variables.append(
                    Variable(
                        name,
                        description,
                        _compact(attributes.get("type", "any")),
                        None if default is None else _compact(default),
                        attributes.get("sensitive") == "true",
                    )
                )
            else:
                outputs.append(Output(name, description))
    return variables, outputs


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("\n", " ") + "`"


def render(directory: Path) -> str:
    variables, outputs = read_module(directory)
    required = [v for v in variables if v.default is None]
    optional = [v for v in variables if v.default is not None]
    lines = [BEGIN, "## Inputs", "", "| Name | Description | Type | Default | Required |", "|---|---|---|---|:---:|"]
    for variable in required + optional:
        description = variable.description + (" (sensitive)" if variable.sensitive else "")
        default = "n/a" if variable.default is None else _code(variable.default)
        lines.append(
            f"| `{variable.name}` | {_cell(description)} | {_code(variable.type)} | {default} | "
            f"{'yes' if variable.default is None else 'no'} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    lines += [f"| `{output.name}` | {_cell(output.description)} |" for output in outputs]
    lines.append(END)
    return "\n".join(lines)


def update(markdown: Path, directory: Path) -> Tuple[str, str]:
    """(current text, text with regenerated tables)."""
    text = markdown.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{markdown}: no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return text, head + render(directory) + tail


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Inputs and outputs tables from Terraform code.")
    parser.add_argument("--check", action="store_true", help="report drift instead of writing")
    parser.add_argument("pairs", nargs="+", help="MARKDOWN MODULE_DIR [MARKDOWN MODULE_DIR ...]")
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        parser.error("arguments come in pairs: a markdown file and a module directory")
    drifted = []
    for markdown, directory in zip(args.pairs[::2], args.pairs[1::2]):
        current, regenerated = update(Path(markdown), Path(directory))
        if current == regenerated:
            continue
        if args.check:
            drifted.append(markdown)
        else:
            Path(markdown).write_text(regenerated, encoding="utf-8")
            print(f"updated {markdown}")
    for markdown in drifted:
        print(f"{markdown}: inputs/outputs tables differ from the code; run `make docs`", file=sys.stderr)
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
