data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  in_vpc     = length(var.subnet_ids) > 0

  # Terraform 1.0 has neither cross-variable validation nor preconditions: tobool() of this
  # message fails the plan with it when neither database input is set.
  database_is_configured = var.db_secret_arn != null || var.database_url != null ? true : tobool(
    "Set db_secret_arn (or database_url): every function reads or writes the application database."
  )
  one_database_input = var.db_secret_arn == null || var.database_url == null ? true : tobool(
    "Set db_secret_arn or database_url, not both: the functions would use database_url and ignore the secret."
  )
  # The next two would otherwise pass the plan and fail the apply, half-way through.
  vpc_is_complete = length(var.subnet_ids) > 0 == length(var.security_group_ids) > 0 ? true : tobool(
    "Set subnet_ids and security_group_ids together: Lambda needs both to run the functions in a VPC."
  )
  batching_is_possible = var.event_batch_size <= 10 || var.event_batching_window_seconds >= 1 ? true : tobool(
    "An event_batch_size above 10 needs an event_batching_window_seconds of at least 1 (an SQS trigger rule)."
  )

  functions = {
    for key, spec in {
      process-events = {
        create      = true
        handler     = "ses_guard.handlers.process_events"
        description = "Records SES events from the queue in the database and counts mail to unregistered recipients"
      }
      sync-thresholds = {
        create      = var.create_quota_sync
        handler     = "ses_guard.handlers.sync_thresholds"
        description = "Keeps the send-count alarm thresholds at their share of the SES sending quota"
      }
      suppress-bouncing-users = {
        create      = var.create_bounce_hygiene
        handler     = "ses_guard.handlers.suppress_bouncing_users"
        description = "Stops mailing users whose addresses keep bouncing or who complained"
      }
      disable-sending = {
        create      = var.create_sending_breaker
        handler     = "ses_guard.handlers.disable_sending"
        description = "Disables SES sending when an allowlisted critical alarm fires"
      }
    } : key => spec if spec.create
  }

  common_environment = {
    POWERTOOLS_SERVICE_NAME      = var.name
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  database_environment = merge(
    var.database_url == null ? {} : { DATABASE_URL = var.database_url },
    var.db_secret_arn == null ? {} : { DB_SECRET_ARN = var.db_secret_arn },
    {
      USERS_TABLE            = var.users_table
      USERS_ID_COLUMN        = var.users_id_column
      USERS_EMAIL_COLUMN     = var.users_email_column
      USERS_EMAIL_LOOKUP     = var.users_email_lookup
      USERS_VALIDATED_COLUMN = var.users_validated_column
    },
  )

  # Kept apart from local.functions because database_url is sensitive and for_each refuses sensitive values.
  environments = {
    process-events = merge(local.common_environment, local.database_environment)
    sync-thresholds = merge(local.common_environment, local.database_environment, {
      SEND_COUNT_ALARMS = jsonencode(var.send_count_alarms)
      WARNING_TOPIC_ARN = var.warning_topic_arn
    })
    suppress-bouncing-users = merge(local.common_environment, local.database_environment, {
      HYGIENE_BOUNCE_THRESHOLD        = tostring(var.hygiene_bounce_threshold)
      HYGIENE_WINDOW_DAYS             = tostring(var.hygiene_window_days)
      HYGIENE_BOUNCE_TYPES            = join(",", var.hygiene_bounce_types)
      HYGIENE_INVALIDATE_ON_COMPLAINT = tostring(var.hygiene_invalidate_on_complaint)
    })
    disable-sending = merge(local.common_environment, local.database_environment, {
      BREAKER_ALARM_NAMES        = jsonencode(var.breaker_alarm_names)
      BREAKER_CONFIGURATION_SETS = jsonencode(var.breaker_configuration_sets)
      CRITICAL_TOPIC_ARN         = var.critical_topic_arn
    })
  }

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
    suppress-bouncing-users = []
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

  # Reading the encrypted queue, publishing to encrypted topics, decrypting the environment.
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
        local.kms_statements,
      ) : statement if length(statement.resources) > 0
    ]
  }

  created_functions = merge({ process-events = aws_lambda_function.event_processor }, aws_lambda_function.automation)

  schedules = {
    for key, expression in {
      sync-thresholds         = var.quota_sync_schedule
      suppress-bouncing-users = var.bounce_hygiene_schedule
    } : key => expression if contains(keys(local.functions), key)
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

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  name              = "/aws/lambda/${var.name}-${each.key}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags

  #checkov:skip=CKV_AWS_158: encrypted with kms_key_arn when given, else with CloudWatch Logs' own key.
}

# The aws provider creates functions from local zips one at a time and waits about 5 s after each,
# so the processor goes first: its event source mapping, the slowest resource here, then gets
# going while the others are still being created.
resource "aws_lambda_function" "event_processor" {
  function_name    = "${var.name}-process-events"
  description      = local.functions["process-events"].description
  role             = aws_iam_role.this["process-events"].arn
  handler          = local.functions["process-events"].handler
  runtime          = var.runtime
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  memory_size      = var.memory_size
  timeout          = var.timeout
  kms_key_arn      = var.kms_key_arn
  tags             = var.tags

  environment {
    variables = local.environments["process-events"]
  }

  dynamic "vpc_config" {
    for_each = local.in_vpc ? ["process-events"] : []

    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }

  tracing_config {
    mode = "PassThrough"
  }

  # The log group must exist first, or Lambda creates one without retention or encryption.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy_attachment.vpc_access]

  #checkov:skip=CKV_AWS_116: failed events go to the queue's dead-letter queue, which is alarmed on.
  #checkov:skip=CKV_AWS_115: concurrency is bounded by the event source mapping's maximum concurrency, which unlike reserved concurrency does not throttle messages into the dead-letter queue.
  #checkov:skip=CKV_AWS_117: VPC placement is optional (subnet_ids): only a database reachable only inside a VPC needs it.
  #checkov:skip=CKV_AWS_272: code signing needs an AWS Signer profile the caller's pipeline would own; the package's hash is pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173: the environment is encrypted with kms_key_arn when given, else with Lambda's AWS managed key.
}

resource "aws_lambda_function" "automation" {
  for_each = { for key, spec in local.functions : key => spec if key != "process-events" }

  function_name    = "${var.name}-${each.key}"
  description      = each.value.description
  role             = aws_iam_role.this[each.key].arn
  handler          = each.value.handler
  runtime          = var.runtime
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  memory_size      = var.memory_size
  timeout          = var.timeout
  kms_key_arn      = var.kms_key_arn
  tags             = var.tags

  environment {
    variables = local.environments[each.key]
  }

  dynamic "vpc_config" {
    for_each = local.in_vpc ? [each.key] : []

    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }

  tracing_config {
    mode = "PassThrough"
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy_attachment.vpc_access, aws_lambda_function.event_processor]

  #checkov:skip=CKV_AWS_116: a failed scheduled run is redone by the next one, and every failure raises the automation-errors alarm (a failed breaker on the critical topic), whose runbook says what to do by hand.
  #checkov:skip=CKV_AWS_115: they run once per schedule or alarm; reserving concurrency would take it from the account's pool (new accounts have none to spare).
  #checkov:skip=CKV_AWS_117: VPC placement is optional (subnet_ids): only a database reachable only inside a VPC needs it.
  #checkov:skip=CKV_AWS_272: code signing needs an AWS Signer profile the caller's pipeline would own; the package's hash is pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173: the environment is encrypted with kms_key_arn when given, else with Lambda's AWS managed key.
}

resource "aws_sqs_queue" "dead_letters" {
  name                      = "${var.name}-ses-events-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags

  #checkov:skip=CKV_AWS_27: encrypted with kms_key_arn when given; SNS cannot deliver to queues under the AWS managed key, and provider 3.39 has no SQS-managed encryption.
}

resource "aws_sqs_queue" "events" {
  name = "${var.name}-ses-events"
  # Lambda's advice for SQS sources: six times the function timeout, so retries of a slow batch
  # do not overlap with the batch still running.
  visibility_timeout_seconds = 6 * var.timeout
  message_retention_seconds  = 1209600
  kms_master_key_id          = var.kms_key_arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters.arn
    maxReceiveCount     = var.event_max_receive_count
  })
  tags = var.tags

  #checkov:skip=CKV_AWS_27: encrypted with kms_key_arn when given; SNS cannot deliver to queues under the AWS managed key, and provider 3.39 has no SQS-managed encryption.
}

data "aws_iam_policy_document" "events_queue" {
  statement {
    sid       = "TheEventsTopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.events_topic_arn]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy    = data.aws_iam_policy_document.events_queue.json
}

resource "aws_sns_topic_subscription" "events_queue" {
  topic_arn = var.events_topic_arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.events.arn
  # The processor reads the SNS envelope (its MessageId identifies the event), so no raw delivery.
  raw_message_delivery = false

  depends_on = [aws_sqs_queue_policy.events]
}

# The queue feeds the processor through a one-resource CloudFormation stack because
# aws_lambda_event_source_mapping in hashicorp/aws 3.39, the oldest provider this module supports,
# has neither function_response_types (3.43) nor scaling_config (4.x). Without
# ReportBatchItemFailures one bad event would make Lambda retry its whole batch.
resource "aws_cloudformation_stack" "event_source_mapping" {
  name = "${var.name}-ses-events-source"
  template_body = jsonencode({
    Description = "Feeds the ${var.name} SES event queue to its processor"
    Resources = {
      EventSourceMapping = {
        Type = "AWS::Lambda::EventSourceMapping"
        Properties = {
          EventSourceArn                 = aws_sqs_queue.events.arn
          FunctionName                   = aws_lambda_function.event_processor.arn
          BatchSize                      = var.event_batch_size
          MaximumBatchingWindowInSeconds = var.event_batching_window_seconds
          FunctionResponseTypes          = ["ReportBatchItemFailures"]
          ScalingConfig                  = { MaximumConcurrency = var.event_processor_max_concurrency }
        }
      }
    }
    Outputs = {
      EventSourceMappingId = { Value = { Ref = "EventSourceMapping" } }
    }
  })
  tags = var.tags

  # Lambda checks at creation that the function's role may read the queue.
  depends_on = [aws_iam_role_policy.this]

  #checkov:skip=CKV_AWS_124: the stack holds a single event source mapping that Terraform manages; its events need no SNS notifications.
}

resource "aws_cloudwatch_event_rule" "schedule" {
  for_each = local.schedules

  name                = "${var.name}-${each.key}"
  description         = "Runs ${var.name}-${each.key}"
  schedule_expression = each.value
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = local.schedules

  rule = aws_cloudwatch_event_rule.schedule[each.key].name
  arn  = aws_lambda_function.automation[each.key].arn
}

resource "aws_lambda_permission" "schedule" {
  for_each = local.schedules

  statement_id  = "AllowScheduleInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.automation[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[each.key].arn
}

resource "aws_lambda_permission" "breaker" {
  count = var.create_sending_breaker ? 1 : 0

  statement_id  = "AllowCriticalTopicInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.automation["disable-sending"].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = var.critical_topic_arn
}

resource "aws_sns_topic_subscription" "breaker" {
  count = var.create_sending_breaker ? 1 : 0

  topic_arn = var.critical_topic_arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.automation["disable-sending"].arn

  depends_on = [aws_lambda_permission.breaker]
}
