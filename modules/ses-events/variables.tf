variable "name" {
  description = "Name of the configuration set, and prefix of the event destination's name."
  type        = string
}

variable "events_topic_arn" {
  description = "ARN of the SNS topic that receives the configuration set's events and the identities' notifications. Its policy must let ses.amazonaws.com publish."
  type        = string
}

variable "create_configuration_set" {
  description = "Create a configuration set whose events (sends, rejects, bounces, complaints, deliveries, ...) go to the events topic. Mail must name it (ConfigurationSetName, or a default configuration set) to be tracked."
  type        = bool
}

variable "event_types" {
  description = "Events the configuration set publishes to the topic. The event processor records every type it receives, one row per recipient."
  type        = list(string)
}

variable "tls_policy" {
  description = "Whether mail sent through the configuration set must be delivered over TLS (Require) or may fall back to plain text (Optional). Require drops mail to receiving servers without STARTTLS."
  type        = string
}

variable "identities" {
  description = "Existing SES identities (domains or addresses, not ARNs) whose Bounce, Complaint and Delivery notifications go to the events topic with the original headers. They catch mail that does not use the configuration set, such as mail sent with leaked credentials."
  type        = list(string)
}
