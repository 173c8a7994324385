"""The module refuses wrong inputs with a message that says what is wrong: at `terraform validate`
where a variable's own rule decides, at `terraform plan` where two inputs must be read together."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.terraform import harness

VALID = {
    "name": '"ses-guard"',
    "lambda_zip_path": '"ses-guard-lambda.zip"',
    "db_secret_arn": '"arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-db-AbCdEf"',
}

NAME_RULE = "The name must start with a letter and hold 1-40 letters, digits or hyphens"
LONGEST_NAME = "A" + "b" * 38 + "9"

WRONG_INPUTS = {
    "warning above critical": ({"send_quota_alarm_percent": "{ warning = 90, critical = 80 }"}, "warning < critical"),
    "percentage above 100": ({"bounce_rate_alarm_percent": "{ warning = 5, critical = 120 }"}, "critical <= 100"),
    "unknown SNS protocol": (
        {"alert_subscriptions": '{ a = { tier = "warning", protocol = "pigeon", endpoint = "x" } }'},
        "protocol must be one of",
    ),
    "alerts over plain http": (
        {"alert_subscriptions": '{ a = { tier = "critical", protocol = "http", endpoint = "http://x.example" } }'},
        "not http: alerts would travel in clear text",
    ),
    "unknown alert tier": (
        {"alert_subscriptions": '{ a = { tier = "info", protocol = "sms", endpoint = "+15555550100" } }'},
        "tier must be warning or critical",
    ),
    "secret that is no ARN": ({"db_secret_arn": '"app-db"'}, "must be a Secrets Manager secret ARN"),
    "key of another service": ({"kms_key_arn": '"arn:aws:sns:eu-west-1:123456789012:topic"'}, "must be a KMS key ARN"),
    "runtime that is not Python": ({"lambda_runtime": '"nodejs20.x"'}, "must be a Python 3 Lambda runtime"),
    "schedule that is no expression": ({"sync_thresholds_schedule": '"hourly"'}, "must be rate(...) or cron(...)"),
    "breaker alarm that does not exist": (
        {"disable_sending_alarms": '["everything"]'},
        "subset of unregistered-recipients",
    ),
    # A deprecated name is validated like its replacement: when set, its value is the one used.
    "schedule that is no expression, under its deprecated name": (
        {"quota_sync_schedule": '"hourly"'},
        "The quota_sync_schedule must be rate(...) or cron(...).",
    ),
    "breaker alarm that does not exist, under its deprecated name": (
        {"sending_breaker_alarms": '["everything"]'},
        "The sending_breaker_alarms must be a non-empty subset of unregistered-recipients",
    ),
    "hygiene threshold that is no whole number, under its deprecated name": (
        {"hygiene_bounce_threshold": "2.5"},
        "The hygiene_bounce_threshold must be a whole number of at least 1.",
    ),
    "enforcement alarm period that is no whole minute": (
        {"watch_enforcement_alarm_period": "90"},
        "The watch_enforcement_alarm_period must be a multiple of 60 between 60 and 86400 seconds.",
    ),
    "name with spaces": ({"name": '"ses guard"'}, NAME_RULE),
    # CloudFormation stack names take letters, digits and hyphens only, and start with a letter.
    "name with an underscore": ({"name": '"my_app"'}, NAME_RULE),
    "name starting with a digit": ({"name": '"1app"'}, NAME_RULE),
    "name one character too long": ({"name": json.dumps(LONGEST_NAME + "x")}, NAME_RULE),
    "unknown users lookup": ({"users_email_lookup": '"index"'}, 'must be "auto" or "scan"'),
    "role path without slashes": ({"iam_role_path": '"ses-guard"'}, "must start and end with /"),
    "boundary that is no policy": (
        {"iam_permissions_boundary_arn": '"arn:aws:iam::123456789012:role/boundary"'},
        "must be an IAM managed policy ARN",
    ),
    "package in S3 that is no zip": (
        {"lambda_zip_path": "null", "lambda_s3_package": '{ bucket = "b", key = "ses-guard", object_version = null }'},
        "needs a bucket and a key naming a .zip file",
    ),
}


@pytest.fixture(scope="module")
def root_config(tmp_path_factory, emulator):
    """A configuration that calls the module; each case rewrites its main.tf and validates."""
    harness.require_toolchain()
    directory = tmp_path_factory.mktemp("validation")
    (directory / "provider.tf").write_text(harness.emulator_provider(emulator.endpoint_url))
    write_call(directory, VALID)
    init = run(directory, "init", "-backend=false", "-input=false", "-no-color")
    assert init.returncode == 0, init.stdout + init.stderr
    return directory


def write_call(directory, arguments):
    lines = [f"  {name} = {value}" for name, value in arguments.items()]
    (directory / "main.tf").write_text(
        'module "ses_guard" {\n  source = ' + json.dumps(str(harness.REPO)) + "\n" + "\n".join(lines) + "\n}\n"
    )


def run(directory, *arguments):
    return subprocess.run(
        [str(harness.TERRAFORM), *arguments],
        cwd=directory,
        env=harness.terraform_environment(),
        capture_output=True,
        text=True,
    )


def test_the_valid_inputs_pass(root_config):
    write_call(root_config, VALID)
    validate = run(root_config, "validate", "-no-color")
    assert validate.returncode == 0, validate.stdout + validate.stderr


@pytest.mark.parametrize("case", sorted(WRONG_INPUTS))
def test_wrong_input_is_refused_with_its_reason(root_config, case):
    arguments, message = WRONG_INPUTS[case]
    write_call(root_config, {**VALID, **arguments})
    validate = run(root_config, "validate", "-no-color")
    output = " ".join((validate.stdout + validate.stderr).split())
    assert validate.returncode == 1, output
    assert message in output


# Terraform 1.0 cannot validate two variables together; the module fails the plan instead, before AWS would.
RENAMED_INPUT_SET_TWICE = (
    "Set each renamed input once, under its function's name: an input and its deprecated name set to different "
    "values contradict each other. Keep the new name only. The deprecated names and their replacements: "
    "create_quota_sync (create_sync_thresholds),"
)
WRONG_COMBINATIONS = {
    "no database": (
        {"db_secret_arn": "null"},
        "Set db_secret_arn (or database_url): every function reads or writes the application database.",
    ),
    "two databases": (
        {"database_url": '"mysql+pymysql://app@db.internal/app"'},
        "Set db_secret_arn or database_url, not both",
    ),
    "database_url in an environment no customer-managed key encrypts": (
        {
            "db_secret_arn": "null",
            "database_url": '"mysql+pymysql://app:pw@db.internal/app"',
            "create_kms_key": "false",
        },
        "database_url needs a customer-managed key (create_kms_key = true or kms_key_arn)",
    ),
    "subnets without security groups": (
        {"subnet_ids": '["subnet-0123abcd"]'},
        "Set subnet_ids and security_group_ids together",
    ),
    "application-only instance naming no owner": (
        {"account_resources": '"none"'},
        "Set account = module.<owner>.account on an instance with account_resources =",
    ),
    "identities on an application-only instance": (
        {
            "account_resources": '"none"',
            "account": '{ owner = "shop", marker_parameter_name = "/ses-reputation-guard/account-owner" }',
            "identities": '["example.com"]',
        },
        "identities and the disable-sending function (create_disable_sending) are account-level",
    ),
    "no package": (
        {"lambda_zip_path": "null"},
        "Set lambda_zip_path or lambda_s3_package, exactly one",
    ),
    "two packages": (
        {"lambda_s3_package": '{ bucket = "artifacts", key = "ses-guard/lambda.zip", object_version = null }'},
        "Set lambda_zip_path or lambda_s3_package, exactly one",
    ),
    "a deprecated toggle contradicting its replacement": (
        {"create_quota_sync": "false", "create_sync_thresholds": "true"},
        RENAMED_INPUT_SET_TWICE,
    ),
    "a deprecated schedule contradicting its replacement": (
        {"quota_sync_schedule": '"rate(2 hours)"', "sync_thresholds_schedule": '"rate(3 hours)"'},
        RENAMED_INPUT_SET_TWICE,
    ),
    "deprecated bounce types contradicting their replacement": (
        {"hygiene_bounce_types": '["Permanent"]', "suppress_bouncing_users_bounce_types": '["Transient"]'},
        RENAMED_INPUT_SET_TWICE,
    ),
    "deprecated breaker alarms contradicting their replacement, one the default": (
        {"sending_breaker_alarms": '["bounce-rate"]', "disable_sending_alarms": '["unregistered-recipients"]'},
        RENAMED_INPUT_SET_TWICE,
    ),
    "large batches without a batching window": (
        {"event_batch_size": "100", "event_batching_window_seconds": "0"},
        "An event_batch_size above 10 needs an event_batching_window_seconds of at least 1",
    ),
}


@pytest.mark.parametrize("case", sorted(WRONG_COMBINATIONS))
def test_plan_refuses_inputs_that_only_work_together(root_config, case):
    arguments, message = WRONG_COMBINATIONS[case]
    write_call(root_config, {**VALID, **arguments})
    plan = run(root_config, "plan", "-input=false", "-no-color")
    output = " ".join((plan.stdout + plan.stderr).split())
    assert plan.returncode == 1, output
    # The message as the error's own text, not wrapped in a failed conversion ("cannot convert "..." to bool").
    assert "Error: Invalid value for variable" in output
    assert message in output
    assert "cannot convert" not in output


def planned_function_names(directory, arguments):
    (directory / "ses-guard-lambda.zip").write_bytes(b"only hashed by the plan")
    write_call(directory, {**VALID, **arguments, "lambda_runtime": '"python3.8"'})
    plan = run(directory, "plan", "-input=false", "-no-color", "-out=toggles.tfplan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    shown = json.loads(run(directory, "show", "-json", "toggles.tfplan").stdout)
    return sorted(
        change["change"]["after"]["function_name"]
        for change in shown["resource_changes"]
        if change["type"] == "aws_lambda_function"
    )


# The toggles took their functions' names; the names they had before still work (deprecated).
@pytest.mark.parametrize("toggle", ["create_sync_thresholds", "create_quota_sync"])
def test_a_toggle_under_its_new_or_its_deprecated_name_leaves_its_function_out(root_config, toggle):
    assert "ses-guard-sync-thresholds" in planned_function_names(root_config, {})
    assert planned_function_names(root_config, {toggle: "false"}) == [
        "ses-guard-process-events",
        "ses-guard-suppress-bouncing-users",
        "ses-guard-watch-enforcement",
    ]


# The functions' inputs took their functions' names too; each value differs from the default, so that a name the
# module ignored would show.
RENAMED_INPUTS = {
    # deprecated name: (name, value)
    "quota_sync_schedule": ("sync_thresholds_schedule", '"rate(2 hours)"'),
    "bounce_hygiene_schedule": ("suppress_bouncing_users_schedule", '"cron(0 3 * * ? *)"'),
    "enforcement_watch_schedule": ("watch_enforcement_schedule", '"rate(30 minutes)"'),
    "hygiene_bounce_threshold": ("suppress_bouncing_users_bounce_threshold", "7"),
    "hygiene_window_days": ("suppress_bouncing_users_window_days", "14"),
    "hygiene_bounce_types": ("suppress_bouncing_users_bounce_types", '["Permanent"]'),
    "hygiene_invalidate_on_complaint": ("suppress_bouncing_users_invalidate_on_complaint", "false"),
    "sending_breaker_alarms": ("disable_sending_alarms", '["bounce-rate", "unregistered-recipients"]'),
    "sending_breaker_configuration_sets": ("disable_sending_configuration_sets", '["newsletter"]'),
}


def planned_values(directory, arguments):
    """Every resource's planned values and every data source read at plan, by address, for a call with these
    arguments (values known only at apply, such as the topics' ARNs, are absent)."""
    (directory / "ses-guard-lambda.zip").write_bytes(b"only hashed by the plan")
    write_call(directory, {**VALID, **arguments, "create_disable_sending": "true", "lambda_runtime": '"python3.8"'})
    plan = run(directory, "plan", "-input=false", "-no-color", "-out=renamed.tfplan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    shown = json.loads(run(directory, "show", "-json", "renamed.tfplan").stdout)
    resources = [
        *planned_resources(shown["planned_values"]["root_module"]),
        *planned_resources(shown["prior_state"]["values"]["root_module"]),
    ]
    return {resource["address"]: resource.get("values") for resource in resources}


def function_settings(planned):
    """What a user would check: each schedule's expression, the hygiene's environment, the configuration sets
    the breaker may disable."""
    lambdas = "module.ses_guard.module.lambdas."
    schedules = {
        address.split('"')[1]: values["schedule_expression"]
        for address, values in planned.items()
        if address.startswith(lambdas + "aws_cloudwatch_event_rule.schedule[")
    }
    hygiene = planned[lambdas + 'aws_lambda_function.automation["suppress-bouncing-users"]']
    breaker_policy = planned.get(lambdas + "data.aws_iam_policy_document.disable_configuration_set_sending[0]")
    return {
        "schedules": schedules,
        "hygiene": {
            name: value for name, value in hygiene["environment"][0]["variables"].items() if name.startswith("HYGIENE_")
        },
        "breaker_configuration_sets": breaker_policy and json.loads(breaker_policy["json"])["Statement"][0]["Resource"],
    }


def test_the_renamed_inputs_under_their_new_or_their_deprecated_names_plan_the_same(root_config):
    under_new_names = planned_values(root_config, dict(RENAMED_INPUTS.values()))
    under_old_names = planned_values(root_config, {old: value for old, (_, value) in RENAMED_INPUTS.items()})
    assert under_new_names == under_old_names
    assert function_settings(under_new_names) == {
        "schedules": {
            "sync-thresholds": "rate(2 hours)",
            "suppress-bouncing-users": "cron(0 3 * * ? *)",
            "watch-enforcement": "rate(30 minutes)",
        },
        "hygiene": {
            "HYGIENE_BOUNCE_THRESHOLD": "7",
            "HYGIENE_WINDOW_DAYS": "14",
            "HYGIENE_BOUNCE_TYPES": "Permanent",
            "HYGIENE_INVALIDATE_ON_COMPLAINT": "false",
        },
        "breaker_configuration_sets": f"arn:aws:ses:{harness.REGION}:123456789012:configuration-set/newsletter",
    }


def test_the_renamed_inputs_keep_their_defaults_and_agree_when_set_twice_alike(root_config):
    # Set under both names to one value: no contradiction. Set under neither: the defaults as before.
    both = {**dict(RENAMED_INPUTS.values()), **{old: value for old, (_, value) in RENAMED_INPUTS.items()}}
    assert function_settings(planned_values(root_config, both))["schedules"]["sync-thresholds"] == "rate(2 hours)"
    assert function_settings(planned_values(root_config, {})) == {
        "schedules": {
            "sync-thresholds": "rate(1 hour)",
            "suppress-bouncing-users": "rate(1 day)",
            "watch-enforcement": "rate(1 hour)",
        },
        "hygiene": {
            "HYGIENE_BOUNCE_THRESHOLD": "5",
            "HYGIENE_WINDOW_DAYS": "30",
            "HYGIENE_BOUNCE_TYPES": "Permanent,Transient",
            "HYGIENE_INVALIDATE_ON_COMPLAINT": "true",
        },
        # None: the breaker may disable sending for the whole account.
        "breaker_configuration_sets": None,
    }


def enforcement_alarm_periods(planned):
    alarm = planned["module.ses_guard.module.alarms.aws_cloudwatch_metric_alarm.enforcement[0]"]
    return {query["metric"][0]["period"] for query in alarm["metric_query"] if query["metric"]}


def test_the_enforcement_alarm_period_is_set_from_the_root(root_config):
    assert enforcement_alarm_periods(planned_values(root_config, {})) == {3600}
    assert enforcement_alarm_periods(planned_values(root_config, {"watch_enforcement_alarm_period": "7200"})) == {7200}


def test_plan_accepts_the_combinations_done_right(root_config):
    (root_config / "ses-guard-lambda.zip").write_bytes(b"only hashed by the plan")
    write_call(
        root_config,
        {
            **VALID,
            "subnet_ids": '["subnet-0123abcd"]',
            "security_group_ids": '["sg-0123abcd"]',
            "event_batch_size": "100",
            "event_batching_window_seconds": "5",
            "lambda_runtime": '"python3.8"',  # the newest provider 3.39 knows (README, Versions)
        },
    )
    plan = run(root_config, "plan", "-input=false", "-no-color")
    assert plan.returncode == 0, plan.stdout + plan.stderr


# AWS's rules for the names the module derives from `name`, from each service's API reference.
NAME_RULES = {
    ("aws_cloudformation_stack", "name"): r"[A-Za-z][A-Za-z0-9-]{0,127}",
    ("aws_lambda_function", "function_name"): r"[A-Za-z0-9_-]{1,64}",
    ("aws_iam_role", "name"): r"[\w+=,.@-]{1,64}",
    ("aws_iam_role_policy", "name"): r"[\w+=,.@-]{1,128}",
    ("aws_cloudwatch_event_rule", "name"): r"[\w.-]{1,64}",
    ("aws_sqs_queue", "name"): r"[A-Za-z0-9_-]{1,80}",
    ("aws_sns_topic", "name"): r"[A-Za-z0-9_-]{1,256}",
    ("aws_ses_configuration_set", "name"): r"[A-Za-z0-9_-]{1,64}",
    ("aws_ses_event_destination", "name"): r"[A-Za-z0-9_-]{1,64}",
    ("aws_cloudwatch_metric_alarm", "alarm_name"): r"[^\x00-\x1f]{1,255}",
    ("aws_cloudwatch_log_group", "name"): r"[\w./#-]{1,512}",
    ("aws_kms_alias", "name"): r"alias/(?!aws/)[\w/-]{1,250}",
    ("aws_cloudwatch_dashboard", "dashboard_name"): r"[A-Za-z0-9_-]{1,255}",
}


def planned_resources(module: dict):
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from planned_resources(child)


def test_every_name_derived_from_the_longest_name_is_valid_where_it_is_used(root_config):
    (root_config / "ses-guard-lambda.zip").write_bytes(b"only hashed by the plan")
    write_call(
        root_config,
        {
            **VALID,
            "name": json.dumps(LONGEST_NAME),
            "create_kms_key": "true",
            "create_disable_sending": "true",
            "lambda_runtime": '"python3.8"',  # the newest provider 3.39 knows (README, Versions)
        },
    )
    plan = run(root_config, "plan", "-input=false", "-no-color", "-out=names.tfplan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    show = run(root_config, "show", "-json", "names.tfplan")
    assert show.returncode == 0, show.stderr
    checked, invalid = set(), []
    for resource in planned_resources(json.loads(show.stdout)["planned_values"]["root_module"]):
        for (type_name, attribute), rule in NAME_RULES.items():
            if resource["type"] == type_name:
                checked.add(type_name)
                value = resource["values"][attribute]
                if not re.fullmatch(rule, value):
                    invalid.append(f"{resource['address']}: {attribute} = {value!r}")
    assert invalid == []
    assert checked == {type_name for type_name, _ in NAME_RULES}


def test_roles_take_the_path_and_boundary_and_functions_the_package_in_s3(root_config):
    boundary = "arn:aws:iam::123456789012:policy/platform-boundary"
    key, version = "ses-guard/lambda.zip", "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"
    write_call(
        root_config,
        {
            **VALID,
            "lambda_zip_path": "null",
            "lambda_s3_package": f'{{ bucket = "artifacts", key = "{key}", object_version = "{version}" }}',
            "iam_role_path": '"/ses-guard/"',
            "iam_permissions_boundary_arn": json.dumps(boundary),
            "create_disable_sending": "true",
            "lambda_runtime": '"python3.8"',
        },
    )
    plan = run(root_config, "plan", "-input=false", "-no-color", "-out=s3.tfplan")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    shown = run(root_config, "show", "-json", "s3.tfplan")
    planned = [
        {**change["change"]["after"], "type": change["type"]} for change in json.loads(shown.stdout)["resource_changes"]
    ]
    roles = [resource for resource in planned if resource["type"] == "aws_iam_role"]
    functions = [resource for resource in planned if resource["type"] == "aws_lambda_function"]
    assert roles and len(roles) == len(functions)
    for role in roles:
        assert (role["path"], role["permissions_boundary"]) == ("/ses-guard/", boundary)
    for function in functions:
        assert (function["s3_bucket"], function["s3_key"], function["s3_object_version"]) == ("artifacts", key, version)
        assert function["filename"] is None
