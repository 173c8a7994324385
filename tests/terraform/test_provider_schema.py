"""What the module uses exists in aws provider 6.x: every resource type, data source, argument, nested block
and attribute read by the root module, its submodules and the examples, checked offline against the
extract of the 6.x schema (tests/terraform/aws_provider_schema.json.gz, `make aws-provider-schema`).
CI applies the module with provider 3.39.0 (the one available offline); this is what keeps 6.x honest."""

from __future__ import annotations

import re

import pytest

from tests.terraform import harness, provider_schema

REPO = harness.REPO
FIXTURE = REPO / "tests" / "terraform" / "fixtures" / "unknown_to_aws_provider_6" / "main.tf"


def module_files():
    files = list(REPO.glob("*.tf"))
    for directory in ("modules", "examples"):
        files += [path for path in (REPO / directory).rglob("*.tf") if ".terraform" not in path.parts]
    return files


@pytest.fixture(scope="module")
def module_report():
    return provider_schema.check(module_files(), REPO)


def test_the_extract_is_of_aws_provider_6():
    extract = provider_schema.extract()
    assert extract["provider_source"] == "registry.terraform.io/hashicorp/aws"
    assert extract["version"].split(".")[0] == "6"
    assert len(extract["resource"]) > 1000 and len(extract["data"]) > 500


def test_everything_the_module_uses_exists_in_aws_provider_6(module_report):
    assert module_report.problems == [], f"unknown to aws provider {provider_schema.extract()['version']}"


def test_every_resource_and_data_source_of_the_module_was_looked_up(module_report):
    """Guards the check itself: a block the parser skipped would pass unseen."""
    declared = set()
    for path in module_files():
        for kind, type_name in re.findall(r'^(resource|data) "(aws_\w+)"', path.read_text(), flags=re.MULTILINE):
            declared.add((kind, type_name))
    assert declared, "no aws resource found: wrong directory?"
    assert declared | {("provider", "aws")} == module_report.checked


def test_names_aws_provider_6_does_not_know_are_reported():
    report = provider_schema.check([FIXTURE], REPO)
    where = "tests/terraform/fixtures/unknown_to_aws_provider_6/main.tf"
    assert sorted(report.problems) == sorted(
        [
            f"{where} provider aws: unknown argument 'skip_get_ec2_platforms'",
            f"{where} aws_sqs_queue.this: unknown argument 'message_retention'",
            f"{where} aws_lambda_function.this environment: unknown argument 'secrets'",
            f"{where} aws_lambda_function.this: unknown block 'vpc_settings'",
            f"{where} aws_ses_event_destination.this sns_destination: unknown argument 'topic'",
            f"{where} aws_ses_reputation_guard.this: unknown resource type",
            f"{where} data.aws_ses_sending_quota.this: unknown data type",
            f"{where}: data.aws_region.current.region_name: aws_region has no attribute 'region_name'",
            f"{where}: aws_sqs_queue.this.queue_arn: aws_sqs_queue has no attribute 'queue_arn'",
        ]
    )
