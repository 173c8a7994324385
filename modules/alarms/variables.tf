variable "name" {
  description = "Prefix of every alarm name: <name>-<alarm>-<warning|critical>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,200}$", var.name))
    error_message = "The name must be 1-200 letters, digits, hyphens or underscores."
  }
}

variable "warning_topic_arn" {
  description = "ARN of the SNS topic the warning alarms notify (on ALARM and on OK)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.warning_topic_arn))
    error_message = "The warning_topic_arn must be an SNS topic ARN."
  }
}

variable "critical_topic_arn" {
  description = "ARN of the SNS topic the critical alarms notify (on ALARM and on OK)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.critical_topic_arn))
    error_message = "The critical_topic_arn must be an SNS topic ARN."
  }
}

variable "daily_send_quota" {
  description = "The account's SES sending quota (Max24HourSend) when the alarms are created. The send-count thresholds start as percentages of it; afterwards the quota-sync function owns them and Terraform ignores their drift."
  type        = number
  default     = 200

  validation {
    condition     = var.daily_send_quota > 0
    error_message = "The daily_send_quota must be positive."
  }
}

variable "send_quota_alarm_percent" {
  description = "Share of the daily send quota, in percent, at which the send-count alarms fire."
  type = object({
    warning  = number
    critical = number
  })
  default = {
    warning  = 60
    critical = 80
  }

  validation {
    condition     = var.send_quota_alarm_percent.warning > 0 && var.send_quota_alarm_percent.warning < var.send_quota_alarm_percent.critical && var.send_quota_alarm_percent.critical <= 100
    error_message = "Send quota percentages need 0 < warning < critical <= 100."
  }
}

variable "bounce_rate_alarm_percent" {
  description = "Bounce rate (SES Reputation.BounceRate), in percent, at which the bounce alarms fire. SES reviews accounts above 5% and may pause sending above 10%."
  type = object({
    warning  = number
    critical = number
  })
  default = {
    warning  = 5
    critical = 10
  }

  validation {
    condition     = var.bounce_rate_alarm_percent.warning > 0 && var.bounce_rate_alarm_percent.warning < var.bounce_rate_alarm_percent.critical && var.bounce_rate_alarm_percent.critical <= 100
    error_message = "Bounce rate percentages need 0 < warning < critical <= 100."
  }
}

variable "complaint_rate_alarm_percent" {
  description = "Complaint rate (SES Reputation.ComplaintRate), in percent, at which the complaint alarms fire. SES reviews accounts above 0.1% and may pause sending above 0.5%."
  type = object({
    warning  = number
    critical = number
  })
  default = {
    warning  = 0.1
    critical = 0.5
  }

  validation {
    condition     = var.complaint_rate_alarm_percent.warning > 0 && var.complaint_rate_alarm_percent.warning < var.complaint_rate_alarm_percent.critical && var.complaint_rate_alarm_percent.critical <= 100
    error_message = "Complaint rate percentages need 0 < warning < critical <= 100."
  }
}

variable "reputation_alarm_period" {
  description = "Period over which the bounce and complaint rates are averaged, in seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.reputation_alarm_period >= 60 && var.reputation_alarm_period <= 86400 && var.reputation_alarm_period % 60 == 0
    error_message = "The reputation_alarm_period must be a multiple of 60 between 60 and 86400 seconds."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the event processor's custom metrics (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
  default     = "SESGuard"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !can(regex("^AWS/", var.metrics_namespace))
    error_message = "The metrics_namespace must be 1-255 characters of letters, digits and _ . / # : - and must not start with AWS/."
  }
}

variable "enforcement_metric_namespace" {
  description = "CloudWatch namespace the enforcement watch publishes EnforcementStatus and SendingDisabledByOthers to (ENFORCEMENT_METRICS_NAMESPACE)."
  type        = string
  default     = "SESGuard/Enforcement"
}

variable "service_name" {
  description = "Value of the custom metrics' only dimension, service (POWERTOOLS_SERVICE_NAME)."
  type        = string
}

variable "unregistered_recipient_alarm_threshold" {
  description = "Number of mails to recipients who are not users of the application (EmailNotRegisteredCount) within one period at which the alarms fire. Such mail is the sign of leaked credentials or a compromised sender."
  type = object({
    warning  = number
    critical = number
  })
  default = {
    warning  = 5
    critical = 10
  }

  validation {
    condition     = var.unregistered_recipient_alarm_threshold.warning >= 1 && var.unregistered_recipient_alarm_threshold.warning < var.unregistered_recipient_alarm_threshold.critical
    error_message = "Unregistered recipient thresholds need 1 <= warning < critical."
  }
}

variable "unregistered_recipient_alarm_period" {
  description = "Period over which EmailNotRegisteredCount is summed, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.unregistered_recipient_alarm_period >= 60 && var.unregistered_recipient_alarm_period <= 86400 && var.unregistered_recipient_alarm_period % 60 == 0
    error_message = "The unregistered_recipient_alarm_period must be a multiple of 60 between 60 and 86400 seconds."
  }
}

variable "create_account_alarms" {
  description = "Create the alarms on the whole account's SES (send-count, and bounce-rate and complaint-rate without dimensions). Exactly one instance per account and region should: more page several times for one event."
  type        = bool
  default     = true
}

variable "configuration_set_name" {
  description = "Configuration set (with reputation metrics enabled) whose own bounce and complaint rates get alarms too, keyed configuration-set-<bounce-rate|complaint-rate>-<tier>; null for none."
  type        = string
  default     = null
}

variable "create_pipeline_alarms" {
  description = "Create the alarms on the event pipeline's own health (processor errors, dead letters, age of the oldest queued event, failures of the automation functions). Needs processor_function_name, queue_name and dead_letter_queue_name."
  type        = bool
  default     = true
}

variable "automation_function_names" {
  description = "Automation functions to alarm on when they fail (with create_pipeline_alarms), keyed sync-thresholds, suppress-bouncing-users, watch-enforcement, disable-sending. A failed breaker (disable-sending) notifies the critical topic, the others the warning topic."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.automation_function_names) : contains(["sync-thresholds", "suppress-bouncing-users", "watch-enforcement", "disable-sending"], key)])
    error_message = "The automation_function_names keys must be sync-thresholds, suppress-bouncing-users, watch-enforcement or disable-sending."
  }
}

variable "create_enforcement_alarm" {
  description = "Create the critical alarm on the enforcement watch's metrics (EnforcementStatus not HEALTHY, or SendingDisabledByOthers)."
  type        = bool
  default     = false
}

variable "enforcement_alarm_period" {
  description = "Period of the enforcement alarm, in seconds: at least the enforcement watch's schedule, so that every period holds a reading."
  type        = number
  default     = 3600
}

variable "processor_function_name" {
  description = "Name of the Lambda function that processes the SES events."
  type        = string
  default     = null
}

variable "queue_name" {
  description = "Name of the SQS queue the SES events wait in."
  type        = string
  default     = null
}

variable "dead_letter_queue_name" {
  description = "Name of the SQS queue events land in after failing processing repeatedly."
  type        = string
  default     = null
}

variable "processor_error_alarm_threshold" {
  description = "Number of failed processor invocations within one period at which the alarms fire."
  type = object({
    warning  = number
    critical = number
  })
  default = {
    warning  = 1
    critical = 10
  }

  validation {
    condition     = var.processor_error_alarm_threshold.warning >= 1 && var.processor_error_alarm_threshold.warning < var.processor_error_alarm_threshold.critical
    error_message = "Processor error thresholds need 1 <= warning < critical."
  }
}

variable "dead_letter_alarm_threshold" {
  description = "Number of events in the dead-letter queue at which the alarms fire."
  type = object({
    warning  = number
    critical = number
  })
  default = {
    warning  = 1
    critical = 100
  }

  validation {
    condition     = var.dead_letter_alarm_threshold.warning >= 1 && var.dead_letter_alarm_threshold.warning < var.dead_letter_alarm_threshold.critical
    error_message = "Dead-letter thresholds need 1 <= warning < critical."
  }
}

variable "queue_age_alarm_threshold_seconds" {
  description = "Age of the oldest waiting event, in seconds, at which the alarms fire."
  type = object({
    warning  = number
    critical = number
  })
  default = {
    warning  = 900
    critical = 3600
  }

  validation {
    condition     = var.queue_age_alarm_threshold_seconds.warning >= 60 && var.queue_age_alarm_threshold_seconds.warning < var.queue_age_alarm_threshold_seconds.critical
    error_message = "Queue age thresholds need 60 <= warning < critical."
  }
}

variable "pipeline_alarm_period" {
  description = "Period of the pipeline health alarms, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.pipeline_alarm_period >= 60 && var.pipeline_alarm_period <= 86400 && var.pipeline_alarm_period % 60 == 0
    error_message = "The pipeline_alarm_period must be a multiple of 60 between 60 and 86400 seconds."
  }
}

variable "tags" {
  description = "Tags for every alarm."
  type        = map(string)
  default     = {}
}
