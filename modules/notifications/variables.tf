variable "name" {
  description = "Prefix of every topic name: <name>-ses-events, <name>-alerts-warning, <name>-alerts-critical."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,200}$", var.name))
    error_message = "The name must be 1-200 letters, digits, hyphens or underscores (SNS topic name rules)."
  }
}

variable "create_kms_key" {
  description = "Create a customer-managed KMS key and encrypt the topics with it. Its key policy lets SES (for the configuration set and identities), CloudWatch, SNS (delivering the events topic to its encrypted queue) and CloudWatch Logs (for log_group_names) of this account use it, which the AWS managed key alias/aws/sns does not. False with no kms_key_arn leaves the topics unencrypted."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing customer-managed KMS key to encrypt the topics with, instead of creating one. Its key policy must grant ses.amazonaws.com and cloudwatch.amazonaws.com kms:GenerateDataKey* and kms:Decrypt. Ignored when create_kms_key is true."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN: arn:<partition>:kms:<region>:<account>:key/<key id>."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before a destroyed KMS key is deleted for good, in days."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "The deletion window must be between 7 and 30 days."
  }
}

variable "subscriptions" {
  description = "Who hears the alerts, keyed by a stable name. tier is warning or critical; protocol is an SNS protocol (sms, email, email-json, https, sqs, lambda, application; not http, which would send alerts in clear text); endpoint is the phone number, address, URL or ARN. Email and HTTPS subscribers must confirm before they receive anything; a lambda endpoint must allow sns.amazonaws.com to invoke it."
  type = map(object({
    tier     = string
    protocol = string
    endpoint = string
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.subscriptions) : contains(["warning", "critical"], s.tier)])
    error_message = "Every subscription's tier must be warning or critical."
  }

  validation {
    condition     = alltrue([for s in values(var.subscriptions) : contains(["sms", "email", "email-json", "https", "sqs", "lambda", "application"], s.protocol)])
    error_message = "Every subscription's protocol must be one of sms, email, email-json, https, sqs, lambda, application (not http: alerts would travel in clear text)."
  }

  validation {
    condition     = alltrue([for s in values(var.subscriptions) : length(trimspace(s.endpoint)) > 0])
    error_message = "Every subscription needs an endpoint."
  }
}

variable "configuration_set_name" {
  description = "Name of the SES configuration set whose events SES may publish to the events topic (aws:SourceArn), or null."
  type        = string
  default     = null
}

variable "identities" {
  description = "SES identities (domains or addresses) whose notifications SES may publish to the events topic (aws:SourceArn)."
  type        = list(string)
  default     = []
}

variable "announcer_role_arns" {
  description = "ARNs of the IAM roles that may publish to each alert topic besides the alarms, keyed warning and critical: the module's functions that announce what they did. Every other principal is denied sns:Publish."
  type = object({
    warning  = list(string)
    critical = list(string)
  })
  default = {
    warning  = []
    critical = []
  }
}

variable "log_group_names" {
  description = "Names of the log groups CloudWatch Logs may encrypt with the created key (kms:EncryptionContext:aws:logs:arn)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
