# The topic ARNs are read from the topic policies: whatever is wired to a topic (SES, alarms, the queue)
# then waits until SES and CloudWatch may publish to it, so no early notification is refused and lost.
output "events_topic_arn" {
  description = "ARN of the topic SES publishes its sending events and identity notifications to."
  value       = aws_sns_topic_policy.events.arn
}

output "events_topic_name" {
  description = "Name of the SES events topic."
  value       = aws_sns_topic.events.name
}

output "warning_topic_arn" {
  description = "ARN of the topic the warning alarms notify."
  value       = aws_sns_topic_policy.alerts["warning"].arn
}

output "critical_topic_arn" {
  description = "ARN of the topic the critical alarms notify."
  value       = aws_sns_topic_policy.alerts["critical"].arn
}

output "subscription_arns" {
  description = "ARNs of the alert subscriptions, keyed like var.subscriptions. Email and HTTP(S) ones read 'pending confirmation' until confirmed."
  value       = { for key, subscription in aws_sns_topic_subscription.alerts : key => subscription.arn }
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the topics (created or passed in), or null when they are not encrypted with a customer-managed key."
  value       = local.kms_key_arn
}
