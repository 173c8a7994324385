variable "name" {
  description = "Name of the dashboard, and of the instance whose resources it shows."
  type        = string
}

variable "published_metrics" {
  description = "Where the functions publish their metrics (modules/lambdas' published_metrics): namespace (the processor's, POWERTOOLS_METRICS_NAMESPACE), quota_namespace (sync-thresholds'), enforcement_namespace (watch-enforcement's), service (the value of their only dimension, service)."
  type        = object({ namespace = string, quota_namespace = string, enforcement_namespace = string, service = string })
}

variable "thresholds" {
  description = "Where the alarms fire (warning, critical), drawn as lines on the graphs: send_quota_percent, bounce_rate_percent, complaint_rate_percent, unregistered_recipients (as the alarms module takes them)."
  type = object({
    send_quota_percent      = object({ warning = number, critical = number })
    bounce_rate_percent     = object({ warning = number, critical = number })
    complaint_rate_percent  = object({ warning = number, critical = number })
    unregistered_recipients = object({ warning = number, critical = number })
  })
}

variable "periods" {
  description = "Periods of the graphs, in seconds, the same as their alarms': reputation, unregistered_recipients, pipeline."
  type        = object({ reputation = number, unregistered_recipients = number, pipeline = number })
}

variable "pipeline" {
  description = "The event pipeline (modules/lambdas' pipeline): processor_function_name, queue_name, dead_letter_queue_name."
  type        = object({ processor_function_name = string, queue_name = string, dead_letter_queue_name = string })
}

variable "show_quota_usage" {
  description = "Show SendQuotaUsedPercent (published by sync-thresholds, when it is created)."
  type        = bool
  default     = true
}

variable "show_enforcement_status" {
  description = "Show EnforcementStatus and SendingDisabledByOthers (published by watch-enforcement, when it is created)."
  type        = bool
  default     = true
}
