variable "name" {
  description = "Name of the configuration set, and prefix of the event destination's name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "The name must be 1-64 letters, digits, hyphens or underscores (SES configuration set name rules)."
  }
}

variable "events_topic_arn" {
  description = "ARN of the SNS topic that receives the configuration set's events and the identities' notifications. Its policy must let ses.amazonaws.com publish."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.events_topic_arn))
    error_message = "The events_topic_arn must be an SNS topic ARN."
  }
}

variable "create_configuration_set" {
  description = "Create a configuration set whose events (sends, rejects, bounces, complaints, deliveries, ...) go to the events topic. Mail must name it (ConfigurationSetName, or a default configuration set) to be tracked."
  type        = bool
  default     = true
}

variable "event_types" {
  description = "Events the configuration set publishes to the topic. The event processor records every type it receives, one row per recipient."
  type        = list(string)
  default     = ["send", "reject", "bounce", "complaint", "delivery", "open", "click", "renderingFailure"]

  validation {
    condition     = length(var.event_types) > 0 && alltrue([for t in var.event_types : contains(["send", "reject", "bounce", "complaint", "delivery", "open", "click", "renderingFailure"], t)])
    error_message = "The event_types must be a non-empty subset of send, reject, bounce, complaint, delivery, open, click, renderingFailure."
  }
}

variable "tls_policy" {
  description = "Whether mail sent through the configuration set must be delivered over TLS (Require) or may fall back to plain text (Optional). Require drops mail to receiving servers without STARTTLS."
  type        = string
  default     = "Optional"

  validation {
    condition     = contains(["Require", "Optional"], var.tls_policy)
    error_message = "The tls_policy must be Require or Optional."
  }
}

variable "identities" {
  description = "Existing SES identities (domains or addresses, not ARNs) whose Bounce, Complaint and Delivery notifications go to the events topic with the original headers. They catch mail that does not use the configuration set, such as mail sent with leaked credentials."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for identity in var.identities : can(regex("^[^\\s:/]+$", identity))])
    error_message = "Each identity must be a domain or an email address, not an ARN."
  }
}
