"""Check Terraform files against the aws provider 6.x schema extract, offline.

The extract (aws_provider_schema.json.gz, written by scripts/aws_provider_schema.py) names every resource
type, data source, argument, nested block and readable attribute of one aws provider release. Terraform
itself would need that provider, which these machines cannot download, so the files are parsed with
python-hcl2 and every name they use is looked up in the extract.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Iterable, Iterator, List, Set, Tuple

import hcl2

EXTRACT = Path(__file__).resolve().parent / "aws_provider_schema.json.gz"
PARSE_OPTIONS = hcl2.SerializationOptions(with_comments=False, strip_string_quotes=True)
BLOCK_MARKER = "__is_block__"
# Terraform's own arguments and blocks, valid in any resource or data block (provisioners only in resources).
META_ARGUMENTS = {"count", "for_each", "provider", "depends_on"}
TERRAFORMS_OWN = {
    "resource": frozenset(META_ARGUMENTS | {"lifecycle", "provisioner", "connection"}),
    "data": frozenset(META_ARGUMENTS | {"lifecycle"}),
}
# aws_x.name.attribute and data.aws_x.name[key].attribute inside expressions.
REFERENCE = re.compile(
    r"(?<![\w.])(?P<data>data\.)?(?P<type>aws_[a-z0-9_]+)\.[A-Za-z_][\w-]*(?:\[[^\]]*\]|\.\*)?\.(?P<attribute>[a-z_][a-z0-9_]*)"
)


@cache
def extract() -> dict:
    with gzip.open(EXTRACT, "rt", encoding="utf-8") as text:
        return json.load(text)


@dataclass
class Report:
    problems: List[str] = field(default_factory=list)
    checked: Set[Tuple[str, str]] = field(default_factory=set)  # ("resource" | "data" | "provider", type)


def is_block(value) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and item.get(BLOCK_MARKER) for item in value)
    )


def check_body(schema: dict, body: dict, where: str, terraforms_own: Iterable[str], report: Report) -> None:
    """Every argument and block of body is in schema (terraforms_own: Terraform's meta-arguments, not looked up)."""
    if schema.get("recursive"):
        return
    for name, value in body.items():
        if name == BLOCK_MARKER or name in terraforms_own:
            continue
        if name == "dynamic":
            # dynamic "vpc_config" { for_each = ..., content { ... } }: the label names the block.
            for dynamic in value:
                for block, spec in dynamic.items():
                    nested = schema["blocks"].get(block)
                    if nested is None:
                        report.problems.append(f"{where}: unknown block {block!r}")
                        continue
                    for content in spec.get("content", []):
                        check_body(nested, content, f"{where} {block}", (), report)
        elif is_block(value):
            nested = schema["blocks"].get(name)
            if nested is None:
                report.problems.append(f"{where}: unknown block {name!r}")
                continue
            for item in value:
                check_body(nested, item, f"{where} {name}", (), report)
        elif name not in schema["arguments"] and name not in schema["blocks"]:
            report.problems.append(f"{where}: unknown argument {name!r}")


def strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def check_references(document: dict, where: str, report: Report) -> None:
    schema = extract()
    for text in strings(document):
        for match in REFERENCE.finditer(text):
            kind = "data" if match["data"] else "resource"
            known = schema[kind].get(match["type"])
            if known is None:
                report.problems.append(f"{where}: reference to unknown {kind} type {match['type']!r}: {match[0]}")
            elif match["attribute"] not in known.get("attributes", ()):
                report.problems.append(f"{where}: {match[0]}: {match['type']} has no attribute {match['attribute']!r}")


def check_file(path: Path, root: Path, report: Report) -> None:
    schema = extract()
    where = str(path.relative_to(root))
    document = hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=PARSE_OPTIONS)
    for kind in ("resource", "data"):
        for entry in document.get(kind, []):
            for type_name, named in entry.items():
                if not type_name.startswith("aws_"):
                    continue
                report.checked.add((kind, type_name))
                for name, body in named.items():
                    if name == BLOCK_MARKER:
                        continue
                    address = f"{where} {'data.' if kind == 'data' else ''}{type_name}.{name}"
                    known = schema[kind].get(type_name)
                    if known is None:
                        report.problems.append(f"{address}: unknown {kind} type")
                        continue
                    check_body(known, body, address, TERRAFORMS_OWN[kind], report)
    for entry in document.get("provider", []):
        for label, body in entry.items():
            if label == "aws":
                report.checked.add(("provider", "aws"))
                check_body(schema["provider"], body, f"{where} provider aws", (), report)
    check_references(document, where, report)


def check(paths: Iterable[Path], root: Path) -> Report:
    report = Report()
    for path in sorted(paths):
        check_file(path, root, report)
    return report
