variable "name" {
  description = "Prefix of every topic name: <name>-ses-events, <name>-alerts-warning, <name>-alerts-critical."
  type        = string
}

variable "create_kms_key" {
  description = "Create a customer-managed KMS key and encrypt the topics with it. Its key policy lets SES (for the configuration set and identities), CloudWatch, SNS (delivering the events topic to its encrypted queue) and CloudWatch Logs (for log_group_names) of this account use it, which the AWS managed key alias/aws/sns does not. False with no kms_key_arn leaves the topics unencrypted."
  type        = bool
}

variable "kms_key_arn" {
  description = "ARN of an existing customer-managed KMS key to encrypt the topics with, instead of creating one. Its key policy must grant ses.amazonaws.com and cloudwatch.amazonaws.com kms:GenerateDataKey* and kms:Decrypt. Ignored when create_kms_key is true."
  type        = string
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before a destroyed KMS key is deleted for good, in days."
  type        = number
}

variable "subscriptions" {
  description = "Who hears the alerts, keyed by a stable name. tier is warning or critical; protocol is an SNS protocol (sms, email, email-json, https, sqs, lambda, application; not http, which would send alerts in clear text); endpoint is the phone number, address, URL or ARN. Email and HTTPS subscribers must confirm before they receive anything; a lambda endpoint must allow sns.amazonaws.com to invoke it."
  type = map(object({
    tier     = string
    protocol = string
    endpoint = string
  }))
}

variable "configuration_set_name" {
  description = "Name of the SES configuration set whose events SES may publish to the events topic (aws:SourceArn), or null."
  type        = string
}

variable "identities" {
  description = "SES identities (domains or addresses) whose notifications SES may publish to the events topic (aws:SourceArn)."
  type        = list(string)
}

variable "announcer_role_arns" {
  description = "ARNs of the IAM roles that may publish to each alert topic besides the alarms, keyed warning and critical: the module's functions that announce what they did. Every other principal is denied sns:Publish."
  type = object({
    warning  = list(string)
    critical = list(string)
  })
}

variable "log_group_names" {
  description = "Names of the log groups CloudWatch Logs may encrypt with the created key (kms:EncryptionContext:aws:logs:arn)."
  type        = list(string)
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
}
