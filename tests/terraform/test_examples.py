"""Both examples applied to moto with Terraform 1.0.3 and aws 3.39.0: what they created, the wiring
with the real handler, no drift on a second plan, and a clean destroy. The tests run in file order;
the last one destroys."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import emitted_metrics
from tests.ses_samples import scenario_1, scenario_3
from tests.support.moto_policies import as_service
from tests.terraform import harness
from tests.terraform.conftest import ACCOUNT, SENDER
from tests.terraform.lambda_emulation import invoke_like_lambda, receive_all, ses_guard_cli, sqs_lambda_event

WARNING, CRITICAL = "warning", "critical"


def alarms_by_key(aws, deployment):
    names = deployment.outputs["alarm_names"]
    found = aws("cloudwatch", deployment.account_id).describe_alarms(AlarmNames=list(names.values()))["MetricAlarms"]
    by_name = {alarm["AlarmName"]: alarm for alarm in found}
    return {key: by_name[name] for key, name in names.items()}


def topic_policy(aws, topic_arn, account_id=None):
    return json.loads(aws("sns", account_id).get_topic_attributes(TopicArn=topic_arn)["Attributes"]["Policy"])


def subscriptions(aws, topic_arn, account_id=None):
    listed = aws("sns", account_id).list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    return sorted((s["Protocol"], s["Endpoint"]) for s in listed)


def function_configuration(aws, deployment, key):
    return aws("lambda", deployment.account_id).get_function_configuration(
        FunctionName=deployment.outputs["function_names"][key]
    )


def role_policy(aws, deployment, key):
    role_name = function_configuration(aws, deployment, key)["Role"].split("/")[-1]
    iam = aws("iam", deployment.account_id)
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    return iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]


def statements_allowing(policy, action):
    return [
        s for s in policy["Statement"] if action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]


@pytest.mark.parametrize("example, quota", [("complete", 50000), ("minimal", 200)], ids=["complete", "minimal"])
def test_each_alarm_tier_has_its_threshold_topic_and_comparison(aws, deployed, example, quota):
    deployment = deployed[example]
    alarms = alarms_by_key(aws, deployment)
    topics = {WARNING: deployment.outputs["warning_topic_arn"], CRITICAL: deployment.outputs["critical_topic_arn"]}
    expected_thresholds = {
        "send-count": {WARNING: quota * 0.6, CRITICAL: quota * 0.8},
        "bounce-rate": {WARNING: 0.05, CRITICAL: 0.10},
        "complaint-rate": {WARNING: 0.001, CRITICAL: 0.005},
        "configuration-set-bounce-rate": {WARNING: 0.05, CRITICAL: 0.10},
        "configuration-set-complaint-rate": {WARNING: 0.001, CRITICAL: 0.005},
        "unregistered-recipients": {WARNING: 5, CRITICAL: 10},
        "processor-errors": {WARNING: 1, CRITICAL: 10},
        "dead-letters": {WARNING: 1, CRITICAL: 100},
        "queue-age": {WARNING: 900, CRITICAL: 3600},
    }
    tiered = sorted(
        key for key in alarms if not key.startswith("automation-errors-") and key != "account-enforcement-critical"
    )
    assert tiered == sorted(f"{kind}-{tier}" for kind in expected_thresholds for tier in topics)
    for kind, thresholds in expected_thresholds.items():
        for tier, threshold in thresholds.items():
            alarm = alarms[f"{kind}-{tier}"]
            assert alarm["Threshold"] == pytest.approx(threshold), alarm["AlarmName"]
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", alarm["AlarmName"]
            assert alarm["AlarmActions"] == [topics[tier]], alarm["AlarmName"]
            assert alarm["OKActions"] == [topics[tier]], alarm["AlarmName"]
            # Missing data pages nobody.
            assert alarm["TreatMissingData"] == "notBreaching", alarm["AlarmName"]


def test_alarms_watch_the_metrics_the_code_and_ses_publish(aws, complete):
    alarms = alarms_by_key(aws, complete)
    unregistered = alarms["unregistered-recipients-critical"]
    # A namespace of this instance alone: no role of the module may write to it (test_access_control).
    assert (unregistered["Namespace"], unregistered["MetricName"]) == (
        "SESGuard/ses-guard-complete",
        "EmailNotRegisteredCount",
    )
    # Powertools publishes EmailNotRegisteredCount with exactly one dimension: service = POWERTOOLS_SERVICE_NAME.
    service = function_configuration(aws, complete, "process-events")["Environment"]["Variables"][
        "POWERTOOLS_SERVICE_NAME"
    ]
    assert unregistered["Dimensions"] == [{"Name": "service", "Value": service}]
    assert (unregistered["Statistic"], unregistered["Period"]) == ("Sum", 300)
    assert (alarms["bounce-rate-warning"]["Namespace"], alarms["bounce-rate-warning"]["MetricName"]) == (
        "AWS/SES",
        "Reputation.BounceRate",
    )
    assert alarms["complaint-rate-warning"]["MetricName"] == "Reputation.ComplaintRate"
    assert alarms["bounce-rate-warning"]["Dimensions"] == []
    # The application's own rates: SES publishes them per configuration set under this dimension.
    per_set = {"Name": "ses:configuration-set", "Value": complete.outputs["configuration_set_name"]}
    for kind, metric_name in (("bounce-rate", "Reputation.BounceRate"), ("complaint-rate", "Reputation.ComplaintRate")):
        for tier in (WARNING, CRITICAL):
            alarm = alarms[f"configuration-set-{kind}-{tier}"]
            assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/SES", metric_name, "Average")
            assert alarm["Dimensions"] == [per_set]
    assert (alarms["send-count-critical"]["MetricName"], alarms["send-count-critical"]["Period"]) == ("Send", 86400)
    functions = complete.outputs["function_names"]
    assert alarms["processor-errors-warning"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": functions["process-events"]}
    ]
    queue_name = complete.outputs["queue_url"].rsplit("/", 1)[-1]
    dead_letter_name = complete.outputs["dead_letter_queue_url"].rsplit("/", 1)[-1]
    assert alarms["queue-age-critical"]["Dimensions"] == [{"Name": "QueueName", "Value": queue_name}]
    assert alarms["dead-letters-warning"]["Dimensions"] == [{"Name": "QueueName", "Value": dead_letter_name}]


@pytest.mark.parametrize("example", ["complete", "minimal"])
def test_every_automation_function_failure_raises_an_alarm(aws, deployed, example):
    deployment = deployed[example]
    alarms = alarms_by_key(aws, deployment)
    functions = {key: name for key, name in deployment.outputs["function_names"].items() if key != "process-events"}
    assert sorted(key for key in alarms if key.startswith("automation-errors-")) == sorted(
        f"automation-errors-{key}" for key in functions
    )
    for key, function_name in functions.items():
        alarm = alarms[f"automation-errors-{key}"]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": function_name}]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
        # A breaker that failed left sending on: that pages like the alarm it was acting on.
        tier = "critical" if key == "disable-sending" else "warning"
        assert alarm["AlarmActions"] == [deployment.outputs[f"{tier}_topic_arn"]], alarm["AlarmName"]
    assert ("disable-sending" in functions) == (example == "complete")


@pytest.mark.parametrize("example", ["complete", "minimal"])
def test_only_ses_and_cloudwatch_of_this_account_may_publish(aws, deployed, example):
    # The sources allowed; the Denies that keep everyone else out are tested in test_access_control.
    outputs = deployed[example].outputs
    account = deployed[example].account_id or ACCOUNT
    name, identities = {"complete": ("ses-guard-complete", [SENDER]), "minimal": ("ses-guard", [])}[example]
    ses_sources = [f"arn:aws:ses:{harness.REGION}:{account}:configuration-set/{outputs['configuration_set_name']}"]
    ses_sources += [f"arn:aws:ses:{harness.REGION}:{account}:identity/{identity}" for identity in identities]
    alarms = {"ArnLike": {"aws:SourceArn": [f"arn:aws:cloudwatch:{harness.REGION}:{account}:alarm:{name}-*"]}}
    expected = {
        outputs["events_topic_arn"]: ("ses.amazonaws.com", {"ArnEquals": {"aws:SourceArn": ses_sources}}),
        outputs["warning_topic_arn"]: ("cloudwatch.amazonaws.com", alarms),
        outputs["critical_topic_arn"]: ("cloudwatch.amazonaws.com", alarms),
    }
    for topic_arn, (service, source_condition) in expected.items():
        (statement,) = [
            s for s in topic_policy(aws, topic_arn, deployed[example].account_id)["Statement"] if s["Effect"] == "Allow"
        ]
        assert statement["Principal"] == {"Service": service}
        assert statement["Action"] == "SNS:Publish"
        assert statement["Resource"] == topic_arn
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": [account]}, **source_condition}


@pytest.mark.parametrize("example", ["complete", "minimal"])
def test_each_example_encrypts_topics_queues_and_environments_with_its_key(aws, deployed, example):
    # minimal does not ask for it: encryption at rest is the default (create_kms_key).
    deployment = deployed[example]
    key_arn = deployment.outputs["kms_key_arn"]
    assert key_arn.startswith(f"arn:aws:kms:{harness.REGION}:{deployment.account_id or ACCOUNT}:key/")
    assert aws("kms", deployment.account_id).get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    sns = aws("sns", deployment.account_id)
    for output in ("events_topic_arn", "warning_topic_arn", "critical_topic_arn"):
        assert sns.get_topic_attributes(TopicArn=deployment.outputs[output])["Attributes"]["KmsMasterKeyId"] == key_arn
    queue = aws("sqs", deployment.account_id).get_queue_attributes(
        QueueUrl=deployment.outputs["queue_url"], AttributeNames=["All"]
    )
    assert queue["Attributes"]["KmsMasterKeyId"] == key_arn
    for key in deployment.outputs["function_names"]:
        assert function_configuration(aws, deployment, key)["KMSKeyArn"] == key_arn


def test_subscriptions(aws, complete, minimal):
    breaker_arn = function_configuration(aws, complete, "disable-sending")["FunctionArn"]
    assert subscriptions(aws, complete.outputs["warning_topic_arn"]) == [("email", "oncall@example.com")]
    assert subscriptions(aws, complete.outputs["critical_topic_arn"]) == sorted(
        [("email", "oncall@example.com"), ("sms", "+15555550100"), ("lambda", breaker_arn)]
    )
    # The breaker is off by default, and nobody is subscribed unless asked for.
    assert subscriptions(aws, minimal.outputs["critical_topic_arn"], minimal.account_id) == []
    assert subscriptions(aws, minimal.outputs["warning_topic_arn"], minimal.account_id) == []

    for deployment in (complete, minimal):
        sns = aws("sns", deployment.account_id)
        queue_arn = aws("sqs", deployment.account_id).get_queue_attributes(
            QueueUrl=deployment.outputs["queue_url"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        (events_subscription,) = sns.list_subscriptions_by_topic(TopicArn=deployment.outputs["events_topic_arn"])[
            "Subscriptions"
        ]
        assert (events_subscription["Protocol"], events_subscription["Endpoint"]) == ("sqs", queue_arn)
        attributes = sns.get_subscription_attributes(SubscriptionArn=events_subscription["SubscriptionArn"])
        # The processor reads the SNS envelope's MessageId: no raw delivery.
        assert attributes["Attributes"]["RawMessageDelivery"] == "false"


@pytest.mark.parametrize("example", ["complete", "minimal"])
def test_configuration_set_publishes_every_event_type_to_the_events_topic(aws, deployed, example):
    outputs = deployed[example].outputs
    described = aws("ses", deployed[example].account_id).describe_configuration_set(
        ConfigurationSetName=outputs["configuration_set_name"],
        ConfigurationSetAttributeNames=["eventDestinations", "reputationOptions", "deliveryOptions"],
    )
    (destination,) = described["EventDestinations"]
    assert destination["Enabled"] is True
    assert sorted(destination["MatchingEventTypes"]) == sorted(
        ["send", "reject", "bounce", "complaint", "delivery", "open", "click", "renderingFailure"]
    )
    assert destination["SNSDestination"]["TopicARN"] == outputs["events_topic_arn"]
    assert described["ReputationOptions"]["ReputationMetricsEnabled"] is True
    assert described["ReputationOptions"]["SendingEnabled"] is True
    assert described["DeliveryOptions"] == {"TlsPolicy": "Optional"}


def test_identity_notifications_go_to_the_events_topic_with_headers(aws, complete):
    attributes = aws("ses").get_identity_notification_attributes(Identities=[SENDER])["NotificationAttributes"][SENDER]
    for notification_type in ("Bounce", "Complaint", "Delivery"):
        assert attributes[f"{notification_type}Topic"] == complete.outputs["events_topic_arn"]
        assert attributes[f"HeadersIn{notification_type}NotificationsEnabled"] is True


def test_queue_feeds_the_processor_with_partial_batch_failures(aws, complete, minimal):
    mappings = {}
    for deployment, max_concurrency in ((complete, 5), (minimal, 2)):
        sqs = aws("sqs", deployment.account_id)
        queue = sqs.get_queue_attributes(QueueUrl=deployment.outputs["queue_url"], AttributeNames=["All"])["Attributes"]
        processor = function_configuration(aws, deployment, "process-events")
        # Six times the function timeout, as Lambda advises for SQS sources.
        assert int(queue["VisibilityTimeout"]) == 6 * processor["Timeout"]
        dead_letter_arn = f"{queue['QueueArn']}-dlq"
        assert json.loads(queue["RedrivePolicy"]) == {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 5}
        dead_letter_url = sqs.get_queue_url(QueueName=dead_letter_arn.rsplit(":", 1)[-1])["QueueUrl"]
        dead_letters = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["All"])["Attributes"]
        assert int(dead_letters["MessageRetentionPeriod"]) == 14 * 24 * 3600
        (statement,) = [s for s in json.loads(queue["Policy"])["Statement"] if s["Effect"] == "Allow"]
        assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": [deployment.outputs["events_topic_arn"]]}}

        lambda_client = aws("lambda", deployment.account_id)
        (mapping,) = lambda_client.list_event_source_mappings(FunctionName=processor["FunctionArn"])[
            "EventSourceMappings"
        ]
        mappings[deployment.name] = mapping
        assert mapping["EventSourceArn"] == queue["QueueArn"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BatchSize"] == 10
        assert mapping["MaximumBatchingWindowInSeconds"] == 5
        assert mapping["ScalingConfig"] == {"MaximumConcurrency": max_concurrency}
    assert mappings["complete"]["UUID"] == complete.outputs["event_source_mapping_id"]


def test_each_function_runs_its_handler_with_the_environment_the_code_reads(aws, complete, wiring_database):
    outputs = complete.outputs
    alarm_names = outputs["alarm_names"]
    common = {
        "POWERTOOLS_SERVICE_NAME": "ses-guard-complete",
        "POWERTOOLS_METRICS_NAMESPACE": "SESGuard/ses-guard-complete",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    database = {
        "DATABASE_URL": f"sqlite:///{wiring_database}",
        "USERS_TABLE": "users",
        "USERS_ID_COLUMN": "user_id",
        "USERS_EMAIL_COLUMN": "email_address",
        "USERS_EMAIL_LOOKUP": "auto",
        "USERS_VALIDATED_COLUMN": "validated",
    }
    expected = {
        "process-events": (
            "ses_guard.handlers.process_events",
            {**common, **database, "EVENTS_TOPIC_ARN": outputs["events_topic_arn"]},
        ),
        "sync-thresholds": (
            "ses_guard.handlers.sync_thresholds",
            {
                **common,
                **database,
                "SEND_COUNT_ALARMS": {alarm_names["send-count-warning"]: 60, alarm_names["send-count-critical"]: 80},
                "WARNING_TOPIC_ARN": outputs["warning_topic_arn"],
                "QUOTA_METRICS_NAMESPACE": "SESGuard/ses-guard-complete/Quota",
            },
        ),
        "suppress-bouncing-users": (
            "ses_guard.handlers.suppress_bouncing_users",
            {
                **common,
                **database,
                "HYGIENE_BOUNCE_THRESHOLD": "5",
                "HYGIENE_WINDOW_DAYS": "30",
                "HYGIENE_BOUNCE_TYPES": "Permanent,Transient",
                "HYGIENE_INVALIDATE_ON_COMPLAINT": "true",
                "SYNC_SUPPRESSION_LIST": "true",
            },
        ),
        "watch-enforcement": (
            "ses_guard.handlers.watch_enforcement",
            {
                **common,
                **database,
                "WARNING_TOPIC_ARN": outputs["warning_topic_arn"],
                "CRITICAL_TOPIC_ARN": outputs["critical_topic_arn"],
                "ENFORCEMENT_METRICS_NAMESPACE": "SESGuard/ses-guard-complete/Enforcement",
            },
        ),
        "disable-sending": (
            "ses_guard.handlers.disable_sending",
            {
                **common,
                **database,
                "BREAKER_ALARM_NAMES": [alarm_names["unregistered-recipients-critical"]],
                "BREAKER_CONFIGURATION_SETS": [],
                "CRITICAL_TOPIC_ARN": outputs["critical_topic_arn"],
            },
        ),
    }
    assert sorted(outputs["function_names"]) == sorted(expected)
    for key, (handler, environment) in expected.items():
        configuration = function_configuration(aws, complete, key)
        assert configuration["Handler"] == handler
        assert configuration["Runtime"] == harness.EMULATOR_RUNTIME
        variables = configuration["Environment"]["Variables"]
        for json_variable in ("SEND_COUNT_ALARMS", "BREAKER_ALARM_NAMES", "BREAKER_CONFIGURATION_SETS"):
            if json_variable in variables:
                variables[json_variable] = json.loads(variables[json_variable])
        assert variables == environment, key


def test_minimal_example_reads_the_database_secret_and_has_no_breaker(aws, minimal, database_secret_arn):
    assert sorted(minimal.outputs["function_names"]) == [
        "process-events",
        "suppress-bouncing-users",
        "sync-thresholds",
        "watch-enforcement",
    ]
    for key in minimal.outputs["function_names"]:
        variables = function_configuration(aws, minimal, key)["Environment"]["Variables"]
        assert variables["DB_SECRET_ARN"] == database_secret_arn
        assert "DATABASE_URL" not in variables
        (statement,) = statements_allowing(role_policy(aws, minimal, key), "secretsmanager:GetSecretValue")
        assert statement["Resource"] == database_secret_arn


def test_roles_have_least_privilege(aws, complete):
    functions = complete.outputs["function_names"]
    policies = {key: role_policy(aws, complete, key) for key in functions}
    # Only the breaker may stop sending.
    assert [
        key for key, policy in policies.items() if statements_allowing(policy, "ses:UpdateAccountSendingEnabled")
    ] == ["disable-sending"]
    (alarm_updates,) = statements_allowing(policies["sync-thresholds"], "cloudwatch:PutMetricAlarm")
    alarm_arns = aws("cloudwatch").describe_alarms(
        AlarmNames=[
            complete.outputs["alarm_names"]["send-count-warning"],
            complete.outputs["alarm_names"]["send-count-critical"],
        ]
    )["MetricAlarms"]
    assert sorted(alarm_updates["Resource"]) == sorted(alarm["AlarmArn"] for alarm in alarm_arns)
    (metric_data,) = statements_allowing(policies["sync-thresholds"], "cloudwatch:PutMetricData")
    assert metric_data["Condition"] == {"StringEquals": {"cloudwatch:namespace": ["SESGuard/ses-guard-complete/Quota"]}}
    (announce,) = statements_allowing(policies["sync-thresholds"], "sns:Publish")
    assert announce["Resource"] == complete.outputs["warning_topic_arn"]
    (breaker_announce,) = statements_allowing(policies["disable-sending"], "sns:Publish")
    assert breaker_announce["Resource"] == complete.outputs["critical_topic_arn"]
    (breaker_confirms,) = statements_allowing(policies["disable-sending"], "cloudwatch:DescribeAlarms")
    breaker_alarm = complete.outputs["alarm_names"]["unregistered-recipients-critical"]
    assert breaker_confirms["Resource"] == f"arn:aws:cloudwatch:{harness.REGION}:{ACCOUNT}:alarm:{breaker_alarm}"
    assert [key for key, policy in policies.items() if statements_allowing(policy, "cloudwatch:PutMetricAlarm")] == [
        "sync-thresholds"
    ]
    # AWS's verdict: read by the watch alone, published to its own namespace only, announced on both topics.
    assert [key for key, policy in policies.items() if statements_allowing(policy, "ses:GetAccount")] == [
        "watch-enforcement"
    ]
    (verdict_metrics,) = statements_allowing(policies["watch-enforcement"], "cloudwatch:PutMetricData")
    assert verdict_metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": ["SESGuard/ses-guard-complete/Enforcement"]}
    }
    (verdict_announce,) = statements_allowing(policies["watch-enforcement"], "sns:Publish")
    assert sorted(verdict_announce["Resource"]) == sorted(
        [complete.outputs["warning_topic_arn"], complete.outputs["critical_topic_arn"]]
    )
    # sync_suppression_list: hygiene may add to the account suppression list, nothing else may.
    assert [key for key, policy in policies.items() if statements_allowing(policy, "ses:PutSuppressedDestination")] == [
        "suppress-bouncing-users"
    ]
    # The key: for reading the queue and publishing to the topics, so not for hygiene.
    key_users = {key: policy for key, policy in policies.items() if statements_allowing(policy, "kms:Decrypt")}
    assert sorted(key_users) == ["disable-sending", "process-events", "sync-thresholds", "watch-enforcement"]
    for policy in key_users.values():
        (key_use,) = statements_allowing(policy, "kms:Decrypt")
        assert key_use["Resource"] == complete.outputs["kms_key_arn"]
    for key, policy in policies.items():
        (logs,) = statements_allowing(policy, "logs:PutLogEvents")
        assert logs["Resource"] == f"arn:aws:logs:{harness.REGION}:{ACCOUNT}:log-group:/aws/lambda/{functions[key]}:*"
        # With database_url there is no secret to read.
        assert statements_allowing(policy, "secretsmanager:GetSecretValue") == []


def test_scheduled_functions_and_log_retention(aws, complete):
    functions = complete.outputs["function_names"]
    events = aws("events")
    for key, schedule in (
        ("sync-thresholds", "rate(1 hour)"),
        ("suppress-bouncing-users", "rate(1 day)"),
        ("watch-enforcement", "rate(1 hour)"),
    ):
        rule = events.describe_rule(Name=functions[key])
        assert rule["ScheduleExpression"] == schedule
        (target,) = events.list_targets_by_rule(Rule=functions[key])["Targets"]
        assert target["Arn"] == function_configuration(aws, complete, key)["FunctionArn"]
    logs = aws("logs")
    for name in functions.values():
        (group,) = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
        assert group["retentionInDays"] == 365


# The deployed wiring, end to end, with the real handler: SES notifications published to the
# deployed events topic arrive in the deployed queue, and process_events, run with the deployed
# function's environment, records them and counts the unregistered recipients under the metric the
# deployed alarm watches. Catches drift between the Terraform and the code.


@pytest.fixture
def paused_event_source_mapping(aws, complete):
    lambda_client = aws("lambda")
    uuid = complete.outputs["event_source_mapping_id"]
    lambda_client.update_event_source_mapping(UUID=uuid, Enabled=False)
    yield
    lambda_client.update_event_source_mapping(UUID=uuid, Enabled=True)


def test_published_notifications_reach_the_database_through_the_deployed_wiring(
    aws, emulator, complete, paused_event_source_mapping, tmp_path
):
    configuration = aws("lambda").get_function_configuration(
        FunctionName=complete.outputs["function_names"]["process-events"]
    )
    database_url = configuration["Environment"]["Variables"]["DATABASE_URL"]
    ses_guard_cli("db", "upgrade", database_url=database_url)
    ses_guard_cli("db", "init-demo", database_url=database_url)

    notifications = scenario_1() + scenario_3()
    # Only SES, for the configuration set or the identities, may publish to the events topic.
    configuration_set = (
        f"arn:aws:ses:{harness.REGION}:{ACCOUNT}:configuration-set/{complete.outputs['configuration_set_name']}"
    )
    sns = as_service(aws("sns"), "ses.amazonaws.com", configuration_set)
    for notification in notifications:
        sns.publish(TopicArn=complete.outputs["events_topic_arn"], Message=json.dumps(notification))

    sqs = aws("sqs")
    queue_url = complete.outputs["queue_url"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = receive_all(sqs, queue_url, expected=len(notifications))
    assert len(messages) == len(notifications)
    # Not raw: the body is the SNS envelope whose MessageId the processor records.
    assert all(json.loads(message["Body"])["Type"] == "Notification" for message in messages)

    event = sqs_lambda_event(messages, queue_arn, harness.REGION)
    response, emitted = invoke_like_lambda(configuration, event, emulator.endpoint_url, tmp_path)

    assert response == {"batchItemFailures": []}
    engine = create_engine(database_url)
    with engine.connect() as connection:
        logged = connection.execute(
            text(
                "SELECT u.email_address, l.status FROM user_email_log l JOIN users u ON u.user_id = l.user_id"
                " ORDER BY u.email_address"
            )
        ).all()
        unregistered = connection.execute(
            text("SELECT destination_address, source_ip FROM unvalidated_email_log ORDER BY destination_address")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in logged] == [
        ("user1@example.com", "Delivery"),
        ("user2@example.com", "Delivery"),
        ("user3@example.com", "Bounce"),
    ]
    assert sorted(row.destination_address for row in unregistered) == sorted(
        f"victim{n}@elsewhere.test" for n in range(1, 11)
    )
    assert {row.source_ip for row in unregistered} == {"198.51.100.66"}

    # The metric lands where the deployed alarm looks: same namespace, the one service dimension.
    alarm_name = complete.outputs["alarm_names"]["unregistered-recipients-critical"]
    (alarm,) = aws("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    documents = [json.loads(line) for line in emitted.splitlines() if line.startswith("{") and '"_aws"' in line]
    directives = [
        directive
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
        if any(metric["Name"] == alarm["MetricName"] for metric in directive["Metrics"])
    ]
    assert directives, f"no {alarm['MetricName']} in the handler's output"
    for directive in directives:
        assert directive["Namespace"] == alarm["Namespace"]
        assert directive["Dimensions"] == [[dimension["Name"] for dimension in alarm["Dimensions"]]]
    assert {document["service"] for document in documents if "service" in document} == {alarm["Dimensions"][0]["Value"]}
    assert emitted_metrics(emitted)[alarm["MetricName"]] == 10


def test_a_configuration_set_the_breaker_paused_stays_paused_through_terraform(aws, complete, request):
    name = complete.outputs["configuration_set_name"]
    ses = aws("ses")
    ses.update_configuration_set_sending_enabled(ConfigurationSetName=name, Enabled=False)  # what the breaker does
    request.addfinalizer(lambda: ses.update_configuration_set_sending_enabled(ConfigurationSetName=name, Enabled=True))

    assert complete.plan_exit_code() == 0, f"a plan would resume sending:\n{complete.runner.last_output()}"
    complete.apply()
    reputation = ses.describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=["reputationOptions"]
    )["ReputationOptions"]
    assert reputation["SendingEnabled"] is False


def test_a_second_plan_shows_no_changes(deployed):
    exit_codes = harness.side_by_side(deployed, harness.Deployment.plan_exit_code)
    for name, exit_code in exit_codes.items():
        assert exit_code == 0, f"examples/{name} drifts after apply:\n{deployed[name].runner.last_output()}"


def test_destroy_removes_everything(aws, deployed):
    harness.side_by_side(deployed, harness.Deployment.destroy)
    prefix = "ses-guard"  # both examples' names start with it
    for account_id in {deployment.account_id for deployment in deployed.values()}:
        assert aws("lambda", account_id).list_functions()["Functions"] == []
        assert aws("sns", account_id).list_topics()["Topics"] == []
        assert aws("sqs", account_id).list_queues().get("QueueUrls", []) == []
        assert [
            a["AlarmName"]
            for a in aws("cloudwatch", account_id).describe_alarms()["MetricAlarms"]
            if a["AlarmName"].startswith(prefix)
        ] == []
        assert aws("ses", account_id).list_configuration_sets().get("ConfigurationSets", []) == []
        stacks = aws("cloudformation", account_id).list_stacks(StackStatusFilter=["CREATE_COMPLETE"])
        assert stacks["StackSummaries"] == []
        roles = aws("iam", account_id).list_roles()["Roles"]
        assert [r["RoleName"] for r in roles if r["RoleName"].startswith(prefix)] == []
        assert aws("ssm", account_id).describe_parameters()["Parameters"] == []
        assert aws("cloudwatch", account_id).list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"] == []
