variable "name" {
  description = "Name of the dashboard, and of the instance whose resources it shows."
  type        = string
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' custom metrics (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
}

variable "service_name" {
  description = "Value of the custom metrics' only dimension, service (POWERTOOLS_SERVICE_NAME)."
  type        = string
}

variable "quota_metric_namespace" {
  description = "CloudWatch namespace the quota sync publishes SendQuotaUsedPercent to."
  type        = string
}

variable "enforcement_metric_namespace" {
  description = "CloudWatch namespace the enforcement watch publishes EnforcementStatus and SendingDisabledByOthers to."
  type        = string
}

variable "send_quota_alarm_percent" {
  description = "Share of the daily send quota, in percent, at which the send-count alarms fire: drawn on the quota graph."
  type        = object({ warning = number, critical = number })
}

variable "bounce_rate_alarm_percent" {
  description = "Bounce rate, in percent, at which the bounce alarms fire: drawn on the bounce-rate graph."
  type        = object({ warning = number, critical = number })
}

variable "complaint_rate_alarm_percent" {
  description = "Complaint rate, in percent, at which the complaint alarms fire: drawn on the complaint-rate graph."
  type        = object({ warning = number, critical = number })
}

variable "reputation_alarm_period" {
  description = "Period of the bounce and complaint rate graphs, in seconds (the alarms' period)."
  type        = number
}

variable "unregistered_recipient_alarm_threshold" {
  description = "EmailNotRegisteredCount per period at which the unregistered-recipient alarms fire: drawn on its graph."
  type        = object({ warning = number, critical = number })
}

variable "unregistered_recipient_alarm_period" {
  description = "Period over which EmailNotRegisteredCount is summed, in seconds (the alarms' period)."
  type        = number
}

variable "pipeline_alarm_period" {
  description = "Period of the pipeline graphs, in seconds (the pipeline alarms' period)."
  type        = number
}

variable "processor_function_name" {
  description = "Name of the Lambda function that processes the SES events."
  type        = string
}

variable "queue_name" {
  description = "Name of the SQS queue the SES events wait in."
  type        = string
}

variable "dead_letter_queue_name" {
  description = "Name of the event queue's dead-letter queue."
  type        = string
}

variable "show_quota_usage" {
  description = "Show SendQuotaUsedPercent (published by the quota sync, when it is created)."
  type        = bool
  default     = true
}

variable "show_enforcement_status" {
  description = "Show EnforcementStatus and SendingDisabledByOthers (published by the enforcement watch, when it is created)."
  type        = bool
  default     = true
}
