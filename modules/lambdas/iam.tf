locals {
  # IAM statements per function, on top of writing its own log group. Statements whose resource
  # list is empty (an input left empty) are dropped below.
  function_statements = {
    process-events = [
      {
        sid        = "ConsumeTheEventQueue"
        actions    = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
        resources  = [aws_sqs_queue.events.arn]
        conditions = []
      },
    ]
    sync-thresholds = [
      {
        sid        = "ReadTheSendingQuota"
        actions    = ["ses:GetSendQuota"]
        resources  = ["*"]
        conditions = []
      },
      {
        sid        = "KeepOnlyTheSendCountAlarms"
        actions    = ["cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm"]
        resources  = var.send_count_alarm_arns
        conditions = []
      },
      {
        sid        = "AnnounceThresholdChanges"
        actions    = ["sns:Publish"]
        resources  = [var.warning_topic_arn]
        conditions = []
      },
      {
        sid       = "PublishQuotaUsageToOurNamespaceOnly"
        actions   = ["cloudwatch:PutMetricData"]
        resources = ["*"]
        conditions = [
          { test = "StringEquals", variable = "cloudwatch:namespace", values = [var.metrics_namespace] },
        ]
      },
    ]
    suppress-bouncing-users = var.sync_suppression_list ? [
      {
        sid        = "AddInvalidatedAddressesToTheSuppressionList"
        actions    = ["ses:PutSuppressedDestination"]
        resources  = ["*"]
        conditions = []
      },
    ] : []
    watch-enforcement = [
      {
        sid        = "ReadTheAccountStatus"
        actions    = ["ses:GetAccount"]
        resources  = ["*"]
        conditions = []
      },
      {
        sid       = "PublishTheStatusToOurNamespaceOnly"
        actions   = ["cloudwatch:PutMetricData"]
        resources = ["*"]
        conditions = [
          { test = "StringEquals", variable = "cloudwatch:namespace", values = [var.metrics_namespace] },
        ]
      },
      {
        sid        = "AnnounceStatusChanges"
        actions    = ["sns:Publish"]
        resources  = [var.warning_topic_arn, var.critical_topic_arn]
        conditions = []
      },
    ]
    disable-sending = [
      {
        # The breaker acts only when CloudWatch confirms the notified alarm is in ALARM.
        sid        = "ConfirmTheAllowlistedAlarms"
        actions    = ["cloudwatch:DescribeAlarms"]
        resources  = [for name in var.breaker_alarm_names : "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${name}"]
        conditions = []
      },
      length(var.breaker_configuration_sets) == 0 ? {
        sid        = "DisableSendingForTheAccount"
        actions    = ["ses:GetAccountSendingEnabled", "ses:UpdateAccountSendingEnabled"]
        resources  = ["*"]
        conditions = []
        } : {
        sid        = "DisableSendingForTheConfigurationSets"
        actions    = ["ses:UpdateConfigurationSetSendingEnabled"]
        resources  = [for name in var.breaker_configuration_sets : "arn:${local.partition}:ses:${local.region}:${local.account_id}:configuration-set/${name}"]
        conditions = []
      },
      {
        sid        = "AnnounceTheBreak"
        actions    = ["sns:Publish"]
        resources  = [var.critical_topic_arn]
        conditions = []
      },
    ]
  }

  database_statements = var.db_secret_arn == null ? [] : concat(
    [
      {
        sid        = "ReadTheDatabaseSecret"
        actions    = ["secretsmanager:GetSecretValue"]
        resources  = [var.db_secret_arn]
        conditions = []
      },
    ],
    var.db_secret_kms_key_arn == null ? [] : [
      {
        sid        = "DecryptTheDatabaseSecret"
        actions    = ["kms:Decrypt"]
        resources  = [var.db_secret_kms_key_arn]
        conditions = []
      },
    ],
  )

  # Reading the encrypted queue (the processor) and publishing to the encrypted topics (quota sync, enforcement
  # watch, breaker).
  # Lambda decrypts the environment through its own grant on the key, so hygiene needs none of it.
  uses_the_guard_key = ["process-events", "sync-thresholds", "watch-enforcement", "disable-sending"]
  kms_statements = var.kms_key_arn == null ? [] : [
    {
      sid        = "UseTheGuardKey"
      actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources  = [var.kms_key_arn]
      conditions = []
    },
  ]

  policy_statements = {
    for key in keys(local.functions) : key => [
      for statement in concat(
        local.function_statements[key],
        local.database_statements,
        contains(local.uses_the_guard_key, key) ? local.kms_statements : [],
      ) : statement if length(statement.resources) > 0
    ]
  }
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

  name               = "${var.name}-${each.key}"
  description        = "Runs the ${var.name}-${each.key} function"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }

  dynamic "statement" {
    for_each = local.policy_statements[each.key]

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
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
