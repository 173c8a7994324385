output "alarm_names" {
  description = "Names of all alarms, keyed <alarm>-<warning|critical> (send-count, bounce-rate, complaint-rate without create_account_alarms; configuration-set-bounce-rate, configuration-set-complaint-rate with configuration_set_name; unregistered-recipients and, with create_pipeline_alarms, processor-errors, dead-letters, queue-age), account-enforcement-critical with watch-enforcement, and automation-errors-<function> for each automation function."
  value = merge(
    { for tier, alarm in aws_cloudwatch_metric_alarm.send_count : "send-count-${tier}" => alarm.alarm_name },
    { for key, alarm in aws_cloudwatch_metric_alarm.reputation : key => alarm.alarm_name },
    { for tier, alarm in aws_cloudwatch_metric_alarm.unregistered_recipients : "unregistered-recipients-${tier}" => alarm.alarm_name },
    { for key, alarm in aws_cloudwatch_metric_alarm.pipeline : key => alarm.alarm_name },
    { for alarm in aws_cloudwatch_metric_alarm.enforcement : "account-enforcement-critical" => alarm.alarm_name },
  )
}

output "alarm_arns" {
  description = "ARNs of all alarms, keyed like alarm_names."
  value = merge(
    { for tier, alarm in aws_cloudwatch_metric_alarm.send_count : "send-count-${tier}" => alarm.arn },
    { for key, alarm in aws_cloudwatch_metric_alarm.reputation : key => alarm.arn },
    { for tier, alarm in aws_cloudwatch_metric_alarm.unregistered_recipients : "unregistered-recipients-${tier}" => alarm.arn },
    { for key, alarm in aws_cloudwatch_metric_alarm.pipeline : key => alarm.arn },
    { for alarm in aws_cloudwatch_metric_alarm.enforcement : "account-enforcement-critical" => alarm.arn },
  )
}

output "send_count_alarms" {
  description = "The send-count alarms the sync-thresholds function keeps at a share of the quota: alarm name => percent of Max24HourSend (SEND_COUNT_ALARMS)."
  value       = { for tier, alarm in aws_cloudwatch_metric_alarm.send_count : alarm.alarm_name => var.thresholds.send_quota_percent[tier] }
}

output "send_count_alarm_arns" {
  description = "ARNs of the send-count alarms, keyed warning and critical."
  value       = { for tier, alarm in aws_cloudwatch_metric_alarm.send_count : tier => alarm.arn }
}

output "critical_alarm_names" {
  description = "Names of the critical alarms on SES itself (not the pipeline's), keyed send-count, bounce-rate, complaint-rate (with create_account_alarms), unregistered-recipients: the alarms disable-sending can act on."
  value = merge(
    { for tier, alarm in aws_cloudwatch_metric_alarm.send_count : "send-count" => alarm.alarm_name if tier == "critical" },
    { for kind in keys(local.reputation) : kind => aws_cloudwatch_metric_alarm.reputation["${kind}-critical"].alarm_name if var.create_account_alarms },
    { unregistered-recipients = aws_cloudwatch_metric_alarm.unregistered_recipients["critical"].alarm_name },
  )
}

output "alarm_specs" {
  description = "Every alarm as the module set it, keyed like alarm_names: name, namespace, metric_name, dimensions, alarm_actions and ok_actions (what `ses-guard doctor` compares the account with)."
  value = {
    for key, alarm in merge(
      { for tier, alarm in aws_cloudwatch_metric_alarm.send_count : "send-count-${tier}" => alarm },
      aws_cloudwatch_metric_alarm.reputation,
      { for tier, alarm in aws_cloudwatch_metric_alarm.unregistered_recipients : "unregistered-recipients-${tier}" => alarm },
      aws_cloudwatch_metric_alarm.pipeline,
      ) : key => {
      name        = alarm.alarm_name
      namespace   = alarm.namespace
      metric_name = alarm.metric_name
      # Refreshed alarms without dimensions read back {} where the configuration says null: the same, for a clean re-plan.
      dimensions    = alarm.dimensions == null ? {} : alarm.dimensions
      alarm_actions = alarm.alarm_actions
      ok_actions    = alarm.ok_actions
    }
  }
}
