output "events_topic_arn" {
  description = "ARN of the SNS topic with the SES events and identity notifications."
  value       = module.notifications.events_topic_arn
}

output "warning_topic_arn" {
  description = "ARN of the warning alert topic; subscribe people to it (alert_subscriptions)."
  value       = module.notifications.warning_topic_arn
}

output "critical_topic_arn" {
  description = "ARN of the critical alert topic; subscribe people to it (alert_subscriptions)."
  value       = module.notifications.critical_topic_arn
}

output "alert_subscription_arns" {
  description = "ARNs of the alert subscriptions, keyed like alert_subscriptions."
  value       = module.notifications.subscription_arns
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts topics, queues, logs and environments, or null."
  value       = module.notifications.kms_key_arn
}

output "configuration_set_name" {
  description = "Name of the configuration set to send with, or null when create_configuration_set is false."
  value       = module.ses_events.configuration_set_name
}

output "configuration_set_arn" {
  description = "ARN of the configuration set, or null when create_configuration_set is false."
  value       = module.ses_events.configuration_set_arn
}

output "alarm_names" {
  description = "Names of all alarms, keyed <alarm>-<warning|critical> (send-count, bounce-rate and complaint-rate on the account owner only; configuration-set-bounce-rate and configuration-set-complaint-rate for this application's configuration set), account-enforcement-critical with watch-enforcement (owner only), and automation-errors-<function> for each automation function."
  value       = module.alarms.alarm_names
}

output "alarm_arns" {
  description = "ARNs of all alarms, keyed <alarm>-<warning|critical>."
  value       = module.alarms.alarm_arns
}

output "function_names" {
  description = "Names of the Lambda functions, keyed process-events, sync-thresholds, suppress-bouncing-users, watch-enforcement, disable-sending (those created)."
  value       = module.lambdas.function_names
}

output "function_arns" {
  description = "ARNs of the Lambda functions, keyed like function_names."
  value       = module.lambdas.function_arns
}

output "role_arns" {
  description = "ARNs of the functions' IAM roles, keyed like function_names."
  value       = module.lambdas.role_arns
}

output "log_group_names" {
  description = "Names of the functions' log groups, keyed like function_names."
  value       = module.lambdas.log_group_names
}

output "queue_url" {
  description = "URL of the SQS queue the SES events wait in for the processor."
  value       = module.lambdas.queue_url
}

output "queue_arn" {
  description = "ARN of the SES event queue."
  value       = module.lambdas.queue_arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue of the SES event queue."
  value       = module.lambdas.dead_letter_queue_url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue of the SES event queue."
  value       = module.lambdas.dead_letter_queue_arn
}

output "event_source_mapping_id" {
  description = "UUID of the event source mapping that feeds the queue to the processor."
  value       = module.lambdas.event_source_mapping_id
}

output "expected_wiring" {
  description = "What this instance needs the account to look like, for `ses-guard doctor --outputs` (terraform output -json): the identities and the events topic their notifications go to, the configuration set and its event types, the event source mapping and its batch size, every alarm's metric, dimensions and actions, and the send-count alarms' share of the quota."
  value = {
    events_topic_arn        = module.notifications.events_topic_arn
    identities              = var.identities
    configuration_set_name  = module.ses_events.configuration_set_name
    event_types             = var.configuration_set_event_types
    event_source_mapping_id = module.lambdas.event_source_mapping_id
    event_batch_size        = var.event_batch_size
    alarms                  = module.alarms.alarm_specs
    send_count_alarms       = module.alarms.send_count_alarms
  }
}

output "dashboard_url" {
  description = "URL of the instance's CloudWatch dashboard in the AWS console, or null when create_dashboard is false."
  value       = one(module.dashboard[*].dashboard_url)
}

output "account" {
  description = "The account part's owner, for application-only instances (account_resources = \"none\"): pass it as their account input. Null on an application-only instance."
  value = local.owns_account ? {
    owner                 = module.account.owner
    marker_parameter_name = module.account.marker_parameter_name
  } : null
}
