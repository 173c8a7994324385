variable "name" {
  description = "Prefix of every alarm name: <name>-<alarm>-<warning|critical>."
  type        = string
}

variable "warning_topic_arn" {
  description = "ARN of the SNS topic the warning alarms notify (on ALARM and on OK)."
  type        = string
}

variable "critical_topic_arn" {
  description = "ARN of the SNS topic the critical alarms notify (on ALARM and on OK)."
  type        = string
}

variable "daily_send_quota" {
  description = "The account's SES sending quota (Max24HourSend) when the alarms are created. The send-count thresholds start as percentages of it; afterwards the sync-thresholds function owns them and Terraform ignores their drift."
  type        = number
}

variable "thresholds" {
  description = "Where each pair of alarms fires (warning, critical): send_quota_percent (share of the daily send quota), bounce_rate_percent and complaint_rate_percent (SES reputation rates, in percent), unregistered_recipients (EmailNotRegisteredCount per period), processor_errors (failed invocations per period), dead_letters (events in the dead-letter queue), queue_age_seconds (age of the oldest waiting event)."
  type = object({
    send_quota_percent      = object({ warning = number, critical = number })
    bounce_rate_percent     = object({ warning = number, critical = number })
    complaint_rate_percent  = object({ warning = number, critical = number })
    unregistered_recipients = object({ warning = number, critical = number })
    processor_errors        = object({ warning = number, critical = number })
    dead_letters            = object({ warning = number, critical = number })
    queue_age_seconds       = object({ warning = number, critical = number })
  })
}

variable "periods" {
  description = "Periods of the alarms, in seconds: reputation (bounce and complaint rates averaged), unregistered_recipients (EmailNotRegisteredCount summed), pipeline (the pipeline's health)."
  type        = object({ reputation = number, unregistered_recipients = number, pipeline = number })
}

variable "published_metrics" {
  description = "Where the functions publish their metrics (modules/lambdas' published_metrics): namespace (the processor's, POWERTOOLS_METRICS_NAMESPACE), quota_namespace (sync-thresholds'), enforcement_namespace (watch-enforcement's), service (the value of their only dimension, service)."
  type        = object({ namespace = string, quota_namespace = string, enforcement_namespace = string, service = string })
}

variable "create_account_alarms" {
  description = "Create the alarms on the whole account's SES (send-count, and bounce-rate and complaint-rate without dimensions). Exactly one instance per account and region should: more page several times for one event."
  type        = bool
}

variable "configuration_set_name" {
  description = "Configuration set (with reputation metrics enabled) whose own bounce and complaint rates get alarms too, keyed configuration-set-<bounce-rate|complaint-rate>-<tier>; null for none."
  type        = string
}

variable "create_pipeline_alarms" {
  description = "Create the alarms on the event pipeline's own health (processor errors, dead letters, age of the oldest queued event, failures of the automation functions). Reads pipeline."
  type        = bool
}

variable "automation_function_names" {
  description = "Automation functions to alarm on when they fail (with create_pipeline_alarms), keyed sync-thresholds, suppress-bouncing-users, watch-enforcement, disable-sending. A failed disable-sending notifies the critical topic, the others the warning topic."
  type        = map(string)
}

variable "create_enforcement_alarm" {
  description = "Create the critical alarm on watch-enforcement's metrics (EnforcementStatus not HEALTHY, or SendingDisabledByOthers)."
  type        = bool
}

variable "enforcement_alarm_period" {
  description = "Period of the enforcement alarm, in seconds: at least the interval of the watch-enforcement function's schedule, so that every period holds a reading (the root module's watch_enforcement_alarm_period)."
  type        = number
  default     = 3600
}

variable "pipeline" {
  description = "The event pipeline (modules/lambdas' pipeline): processor_function_name, queue_name, dead_letter_queue_name."
  type        = object({ processor_function_name = string, queue_name = string, dead_letter_queue_name = string })
}

variable "tags" {
  description = "Tags for every alarm."
  type        = map(string)
}
