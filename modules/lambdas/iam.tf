# Each concern's statements are a static aws_iam_policy_document, so that checkov reads every statement
# of every function (it cannot evaluate dynamic blocks); "function" merges those a function needs.
locals {
  # Reading the encrypted queue (the processor) and publishing to the encrypted topics (the functions that
  # announce). Lambda decrypts the environment through its own grant on the key, so the others need none of it.
  uses_the_guard_key = [for key, spec in local.functions : key if key == local.processor || length(spec.announces_to) > 0]

  function_policies = {
    (local.processor)       = [data.aws_iam_policy_document.process_events.json]
    sync-thresholds         = data.aws_iam_policy_document.sync_thresholds[*].json
    suppress-bouncing-users = data.aws_iam_policy_document.suppress_bouncing_users[*].json
    watch-enforcement       = data.aws_iam_policy_document.watch_enforcement[*].json
    disable-sending = concat(
      data.aws_iam_policy_document.disable_sending[*].json,
      data.aws_iam_policy_document.disable_account_sending[*].json,
      data.aws_iam_policy_document.disable_configuration_set_sending[*].json,
    )
  }

  database_policies = concat(
    data.aws_iam_policy_document.database_secret[*].json,
    data.aws_iam_policy_document.database_secret_key[*].json,
  )
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.functions

  name                 = "${var.name}-${each.key}"
  description          = "Runs the ${var.name}-${each.key} function"
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

data "aws_iam_policy_document" "own_logs" {
  for_each = local.functions

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }
}

data "aws_iam_policy_document" "process_events" {
  statement {
    sid       = "ConsumeTheEventQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.events.arn]
  }
}

data "aws_iam_policy_document" "sync_thresholds" {
  count = var.create_functions["sync-thresholds"] ? 1 : 0

  #checkov:skip=CKV_AWS_356: ses:GetSendQuota and cloudwatch:PutMetricData take no resource; PutMetricData is held to one namespace by its condition.
  #checkov:skip=CKV_AWS_111: cloudwatch:PutMetricData takes no resource; its condition holds it to the quota namespace, which no alarm watches.

  statement {
    sid       = "ReadTheSendingQuota"
    actions   = ["ses:GetSendQuota"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadTheSendCountAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = var.send_count_alarm_arns
  }

  # Rewriting a threshold must not reroute the alarm: its actions stay the module's alert topics.
  statement {
    sid       = "RewriteTheSendCountAlarmsKeepingTheirTopics"
    actions   = ["cloudwatch:PutMetricAlarm"]
    resources = var.send_count_alarm_arns

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "cloudwatch:AlarmActions"
      values   = [var.warning_topic_arn, var.critical_topic_arn]
    }

    # ForAllValues alone would also pass an alarm stripped of every action.
    condition {
      test     = "Null"
      variable = "cloudwatch:AlarmActions"
      values   = ["false"]
    }
  }

  statement {
    sid       = "AnnounceThresholdChanges"
    actions   = ["sns:Publish"]
    resources = [var.warning_topic_arn]
  }

  statement {
    sid       = "PublishQuotaUsageToTheQuotaNamespaceOnly"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.quota_metrics_namespace]
    }
  }
}

data "aws_iam_policy_document" "suppress_bouncing_users" {
  count = var.create_functions["suppress-bouncing-users"] && var.sync_suppression_list ? 1 : 0

  #checkov:skip=CKV_AWS_356: the account-level suppression list has no resource ARN to name.
  #checkov:skip=CKV_AWS_111: the account-level suppression list has no resource ARN to name; suppress-bouncing-users only adds addresses it invalidated.

  statement {
    sid       = "AddInvalidatedAddressesToTheSuppressionList"
    actions   = ["ses:PutSuppressedDestination"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "watch_enforcement" {
  count = var.create_functions["watch-enforcement"] ? 1 : 0

  #checkov:skip=CKV_AWS_356: ses:GetAccount and cloudwatch:PutMetricData take no resource; PutMetricData is held to one namespace by its condition.
  #checkov:skip=CKV_AWS_111: cloudwatch:PutMetricData takes no resource; its condition holds it to the module's namespace.

  statement {
    sid       = "ReadTheAccountStatus"
    actions   = ["ses:GetAccount"]
    resources = ["*"]
  }

  statement {
    sid       = "PublishTheStatusToOurNamespaceOnly"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.enforcement_metrics_namespace]
    }
  }

  statement {
    sid       = "AnnounceStatusChanges"
    actions   = ["sns:Publish"]
    resources = [var.warning_topic_arn, var.critical_topic_arn]
  }
}

data "aws_iam_policy_document" "disable_sending" {
  count = var.create_functions["disable-sending"] ? 1 : 0

  # disable-sending acts only when CloudWatch confirms the notified alarm is in ALARM.
  statement {
    sid       = "ConfirmTheAllowlistedAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = [for name in var.disable_sending_alarm_names : "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${name}"]
  }

  statement {
    sid       = "AnnounceTheBreak"
    actions   = ["sns:Publish"]
    resources = [var.critical_topic_arn]
  }
}

data "aws_iam_policy_document" "disable_account_sending" {
  count = var.create_functions["disable-sending"] && length(var.disable_sending_configuration_sets) == 0 ? 1 : 0

  #checkov:skip=CKV_AWS_356: SES's account-level sending switch has no resource ARN to name.
  #checkov:skip=CKV_AWS_111: SES's account-level sending switch has no resource ARN to name; only the disable-sending role holds it.

  statement {
    sid       = "DisableSendingForTheAccount"
    actions   = ["ses:GetAccountSendingEnabled", "ses:UpdateAccountSendingEnabled"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "disable_configuration_set_sending" {
  count = var.create_functions["disable-sending"] && length(var.disable_sending_configuration_sets) > 0 ? 1 : 0

  statement {
    sid       = "DisableSendingForTheConfigurationSets"
    actions   = ["ses:UpdateConfigurationSetSendingEnabled"]
    resources = [for name in var.disable_sending_configuration_sets : "arn:${local.partition}:ses:${local.region}:${local.account_id}:configuration-set/${name}"]
  }
}

data "aws_iam_policy_document" "database_secret" {
  count = var.db_secret_arn == null ? 0 : 1

  statement {
    sid       = "ReadTheDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.db_secret_arn]
  }
}

data "aws_iam_policy_document" "database_secret_key" {
  count = var.db_secret_arn == null || var.db_secret_kms_key_arn == null ? 0 : 1

  statement {
    sid       = "DecryptTheDatabaseSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.db_secret_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "guard_key" {
  statement {
    sid     = "UseTheGuardKeyThroughTheQueueAndTopics"
    actions = ["kms:Decrypt", "kms:GenerateDataKey"]
    # compact(): the created key's ARN is unknown until apply, so no count can test it for null;
    # without a key this document is rendered but merged into no policy.
    resources = compact([var.kms_key_arn])

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com", "sns.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  source_policy_documents = concat(
    [data.aws_iam_policy_document.own_logs[each.key].json],
    local.function_policies[each.key],
    local.database_policies,
    contains(local.uses_the_guard_key, each.key) && var.kms_key_arn != null ? [data.aws_iam_policy_document.guard_key.json] : [],
  )
}

resource "aws_iam_role_policy" "this" {
  for_each = local.functions

  name   = "${var.name}-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}

resource "aws_iam_role_policy_attachment" "vpc_access" {
  for_each = local.in_vpc ? local.functions : {}

  role       = aws_iam_role.this[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}
