output "events_topic_arn" {
  description = "ARN of the SNS topic with the SES events."
  value       = module.ses_guard.events_topic_arn
}

output "warning_topic_arn" {
  description = "ARN of the warning alert topic: subscribe to it."
  value       = module.ses_guard.warning_topic_arn
}

output "critical_topic_arn" {
  description = "ARN of the critical alert topic: subscribe to it."
  value       = module.ses_guard.critical_topic_arn
}

output "configuration_set_name" {
  description = "Configuration set to send with."
  value       = module.ses_guard.configuration_set_name
}

output "alarm_names" {
  description = "Names of all alarms."
  value       = module.ses_guard.alarm_names
}

output "function_names" {
  description = "Names of the Lambda functions."
  value       = module.ses_guard.function_names
}

output "queue_url" {
  description = "URL of the SES event queue."
  value       = module.ses_guard.queue_url
}

output "expected_wiring" {
  description = "What `ses-guard doctor --outputs` checks the account against."
  value       = module.ses_guard.expected_wiring
}

output "dashboard_url" {
  description = "URL of the instance's CloudWatch dashboard."
  value       = module.ses_guard.dashboard_url
}

output "kms_key_arn" {
  description = "ARN of the KMS key the module created (create_kms_key defaults to true) for the topics, queues, logs and function environments."
  value       = module.ses_guard.kms_key_arn
}
