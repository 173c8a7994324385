output "sender_identity" {
  description = "The shared SES identity whose notifications the shop records."
  value       = aws_ses_email_identity.sender.email
}

output "account" {
  description = "The account part's owner (the shop)."
  value       = module.shop.account
}

output "applications" {
  description = "Per application: what to send with and where its events and alarms are."
  value = {
    shop = {
      configuration_set_name  = module.shop.configuration_set_name
      events_topic_arn        = module.shop.events_topic_arn
      warning_topic_arn       = module.shop.warning_topic_arn
      critical_topic_arn      = module.shop.critical_topic_arn
      queue_url               = module.shop.queue_url
      event_source_mapping_id = module.shop.event_source_mapping_id
      function_names          = module.shop.function_names
      alarm_names             = module.shop.alarm_names
    }
    newsletter = {
      configuration_set_name  = module.newsletter.configuration_set_name
      events_topic_arn        = module.newsletter.events_topic_arn
      warning_topic_arn       = module.newsletter.warning_topic_arn
      critical_topic_arn      = module.newsletter.critical_topic_arn
      queue_url               = module.newsletter.queue_url
      event_source_mapping_id = module.newsletter.event_source_mapping_id
      function_names          = module.newsletter.function_names
      alarm_names             = module.newsletter.alarm_names
    }
  }
}
