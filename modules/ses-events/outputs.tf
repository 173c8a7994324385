output "configuration_set_name" {
  description = "Name of the configuration set to send with (ConfigurationSetName), or null when create_configuration_set is false."
  value       = var.create_configuration_set ? aws_ses_configuration_set.this[0].name : null
}

output "configuration_set_arn" {
  description = "ARN of the configuration set, or null when create_configuration_set is false."
  value       = var.create_configuration_set ? aws_ses_configuration_set.this[0].arn : null
}

output "event_destination_name" {
  description = "Name of the configuration set's SNS event destination, or null when create_configuration_set is false."
  value       = var.create_configuration_set ? aws_ses_event_destination.this[0].name : null
}

output "identity_notification_ids" {
  description = "IDs of the identity notification topic settings, keyed <identity>/<Bounce|Complaint|Delivery>."
  value       = { for key, notification in aws_ses_identity_notification_topic.this : key => notification.id }
}
