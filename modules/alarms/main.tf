locals {
  # Every alarm fires on the first period at or beyond its threshold: waiting for a second would leave a leak
  # unreported for a whole period more (the rates are averages over their period already).
  evaluation_periods = 1

  topic_arns = {
    warning  = var.warning_topic_arn
    critical = var.critical_topic_arn
  }

  reputation = {
    bounce-rate = {
      metric_name = "Reputation.BounceRate"
      percent     = var.thresholds.bounce_rate_percent
      description = "SES bounce rate is at or above %s%%. SES reviews accounts above 5%% and may pause sending above 10%%. Find the bouncing recipients in user_email_log, stop mailing them (bounce hygiene) and check how addresses are collected."
    }
    complaint-rate = {
      metric_name = "Reputation.ComplaintRate"
      percent     = var.thresholds.complaint_rate_percent
      description = "SES complaint rate is at or above %s%%. SES reviews accounts above 0.1%% and may pause sending above 0.5%%. Find who complained, stop mailing them and review what was sent and to whom it was sent without consent."
    }
  }

  reputation_alarms = merge([
    for kind, spec in local.reputation : {
      for tier, topic_arn in local.topic_arns : "${kind}-${tier}" => {
        metric_name = spec.metric_name
        dimensions  = null
        percent     = spec.percent[tier]
        topic_arn   = topic_arn
        description = format(spec.description, spec.percent[tier])
      }
    }
  ]...)

  account_reputation_alarms = var.create_account_alarms ? local.reputation_alarms : {}

  # The same rates for the mail of one configuration set: SES publishes Reputation.BounceRate and
  # Reputation.ComplaintRate per set, with the dimension ses:configuration-set, once the set's
  # reputation metrics are enabled. Names from
  # https://docs.aws.amazon.com/ses/latest/dg/reputationdashboard-cloudwatch-alarm.html and
  # https://aws.amazon.com/blogs/messaging-and-targeting/protect-your-reputation-with-email-pausing-and-configuration-set-metrics/
  configuration_set_reputation_alarms = var.configuration_set_name == null ? {} : {
    for key, alarm in local.reputation_alarms : "configuration-set-${key}" => merge(alarm, {
      dimensions  = { "ses:configuration-set" = var.configuration_set_name }
      description = "Mail sent through the configuration set ${var.configuration_set_name} (this application only): ${alarm.description}"
    })
  }

  pipeline = {
    processor-errors = {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = var.pipeline.processor_function_name }
      threshold   = var.thresholds.processor_errors
      description = "The SES event processor (${var.pipeline.processor_function_name}) failed %s or more times in ${var.periods.pipeline} s. Events are retried and then dead-lettered, so nothing is lost yet: read the function's log group (database unreachable? credentials?)."
    }
    dead-letters = {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = var.pipeline.dead_letter_queue_name }
      threshold   = var.thresholds.dead_letters
      description = "%s or more SES events (${var.pipeline.dead_letter_queue_name}) failed processing repeatedly and were not recorded. Fix the cause from the processor's logs, then redrive the dead-letter queue to the source queue."
    }
    queue-age = {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateAgeOfOldestMessage"
      statistic   = "Maximum"
      dimensions  = { QueueName = var.pipeline.queue_name }
      threshold   = var.thresholds.queue_age_seconds
      description = "The oldest SES event in ${var.pipeline.queue_name} has waited %s s or more: the processor is failing, throttled or too slow, and the unregistered-recipient alarms are blind until it catches up."
    }
  }

  pipeline_alarms = var.create_pipeline_alarms ? merge([
    for kind, spec in local.pipeline : {
      for tier, topic_arn in local.topic_arns : "${kind}-${tier}" => merge(spec, {
        threshold   = spec.threshold[tier]
        topic_arn   = topic_arn
        description = format(spec.description, spec.threshold[tier])
      })
    }
  ]...) : {}

  automation = {
    sync-thresholds         = "The SES quota sync (%s) failed: the send-count alarm thresholds may no longer match the quota. Read the function's log group; the next scheduled run tries again."
    suppress-bouncing-users = "The bounce hygiene (%s) failed: users whose addresses keep bouncing are still mailed. Read the function's log group; the next scheduled run tries again."
    watch-enforcement       = "The enforcement watch (%s) failed: a change of AWS's verdict on the SES account (PROBATION, SHUTDOWN, sending paused) may go unnoticed. Check with aws sesv2 get-account, then read the function's log group; the next scheduled run tries again."
    disable-sending         = "The sending breaker (%s) failed: sending may still be on (or it was disabled but not announced or not recorded). Check with aws ses get-account-sending-enabled; if the alarm that triggered it is real and sending is on, disable it by hand (README, runbook), then read the function's log group."
  }

  # One failure is worth a message: these functions run rarely, and a failed disable-sending has no second chance.
  automation_alarms = var.create_pipeline_alarms ? {
    for key, function_name in var.automation_function_names : "automation-errors-${key}" => {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = function_name }
      threshold   = 1
      topic_arn   = key == "disable-sending" ? var.critical_topic_arn : var.warning_topic_arn
      description = format(local.automation[key], function_name)
    }
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "send_count" {
  for_each = var.create_account_alarms ? local.topic_arns : {}

  alarm_name        = "${var.name}-send-count-${each.key}"
  alarm_description = "SES sent ${var.thresholds.send_quota_percent[each.key]}% or more of the daily sending quota within one day. Check that the volume is expected (a leak sends too); if it is, request a quota increase from AWS Support before sending stops."
  namespace         = "AWS/SES"
  metric_name       = "Send"
  statistic         = "Sum"
  # SES's quota counts a rolling 24 hours; one day is the longest period an alarm can have.
  period              = 86400
  evaluation_periods  = local.evaluation_periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = floor(var.daily_send_quota * var.thresholds.send_quota_percent[each.key] / 100)
  treat_missing_data  = "notBreaching"
  alarm_actions       = [each.value]
  ok_actions          = [each.value]
  tags                = var.tags

  lifecycle {
    # The sync-thresholds function rewrites the thresholds whenever the SES quota changes.
    ignore_changes = [threshold]
  }
}

resource "aws_cloudwatch_metric_alarm" "reputation" {
  for_each = merge(local.account_reputation_alarms, local.configuration_set_reputation_alarms)

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "AWS/SES"
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = "Average"
  period              = var.periods.reputation
  evaluation_periods  = local.evaluation_periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  # SES reports the rates as fractions: 5% is 0.05.
  threshold          = each.value.percent / 100
  treat_missing_data = "notBreaching"
  alarm_actions      = [each.value.topic_arn]
  ok_actions         = [each.value.topic_arn]
  tags               = var.tags
}

resource "aws_cloudwatch_metric_alarm" "unregistered_recipients" {
  for_each = local.topic_arns

  alarm_name          = "${var.name}-unregistered-recipients-${each.key}"
  alarm_description   = "SES delivered ${var.thresholds.unregistered_recipients[each.key]} or more mails within ${var.periods.unregistered_recipients} s to addresses that are not users of the application. Look up source_ip and source_arn in unvalidated_email_log: unknown IPs mean leaked credentials (disable and rotate them), known ones a compromised host or someone testing in production."
  namespace           = var.published_metrics.namespace
  metric_name         = "EmailNotRegisteredCount"
  dimensions          = { service = var.published_metrics.service }
  statistic           = "Sum"
  period              = var.periods.unregistered_recipients
  evaluation_periods  = local.evaluation_periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.thresholds.unregistered_recipients[each.key]
  treat_missing_data  = "notBreaching"
  alarm_actions       = [each.value]
  ok_actions          = [each.value]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "pipeline" {
  for_each = merge(local.pipeline_alarms, local.automation_alarms)

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = var.periods.pipeline
  evaluation_periods  = local.evaluation_periods
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [each.value.topic_arn]
  ok_actions          = [each.value.topic_arn]
  tags                = var.tags
}

# AWS's own verdict on the account, as watch-enforcement publishes it: 0 is HEALTHY, 1 PROBATION, 2 SHUTDOWN
# (3 a status AWS may add); SendingDisabledByOthers is 1 while sending is paused by anyone but disable-sending.
resource "aws_cloudwatch_metric_alarm" "enforcement" {
  count = var.create_enforcement_alarm ? 1 : 0

  alarm_name          = "${var.name}-account-enforcement-critical"
  alarm_description   = "AWS put the SES account under review (PROBATION) or paused it (SHUTDOWN), or sending was disabled by someone other than the guard's breaker. Read the enforcement watch's announcement on the critical topic and aws sesv2 get-account; answer the review case in the AWS Support Center after fixing the cause."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = local.evaluation_periods
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.critical_topic_arn]
  ok_actions          = [var.critical_topic_arn]
  tags                = var.tags

  metric_query {
    id          = "verdict"
    expression  = "MAX([status, others])"
    label       = "Worst of EnforcementStatus and SendingDisabledByOthers"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = { status = "EnforcementStatus", others = "SendingDisabledByOthers" }

    content {
      id = metric_query.key

      metric {
        namespace   = var.published_metrics.enforcement_namespace
        metric_name = metric_query.value
        dimensions  = { service = var.published_metrics.service }
        stat        = "Maximum"
        period      = var.enforcement_alarm_period
      }
    }
  }
}
