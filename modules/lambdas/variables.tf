variable "name" {
  description = "Prefix of every resource name, and the functions' POWERTOOLS_SERVICE_NAME (the service dimension of their metrics). IAM role names derive from it and IAM is global: one name per region of an account."
  type        = string
}

variable "lambda_zip_path" {
  description = "Path of the deployment package built by `make build` (dist/ses-guard-lambda.zip), or null with lambda_s3_package."
  type        = string
}

variable "lambda_s3_package" {
  description = "The deployment package in S3 (bucket, key, object_version), or null with lambda_zip_path."
  type        = object({ bucket = string, key = string, object_version = string })
}

variable "role_path" {
  description = "Path of the functions' IAM roles."
  type        = string
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary policy of the functions' IAM roles, or null."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime of the functions; the package must be built for the same Python (LAMBDA_PYTHON of `make build`, 3.12 by default)."
  type        = string
}

variable "memory_size" {
  description = "Memory of each function, in MB."
  type        = number
}

variable "timeout" {
  description = "Timeout of each function, in seconds. The event queue's visibility timeout is six times this, as Lambda advises for SQS sources."
  type        = number
}

variable "log_level" {
  description = "Log level of the functions (POWERTOOLS_LOG_LEVEL)."
  type        = string
}

variable "log_retention_in_days" {
  description = "How long the functions' logs are kept. The processor's logs are the evidence when credentials leak, so keep them long enough for an investigation."
  type        = number
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the event processor's metrics (POWERTOOLS_METRICS_NAMESPACE), which the unregistered-recipient alarms watch. No function's role may write to it: sync-thresholds writes its side metric to <metrics_namespace>/Quota (QUOTA_METRICS_NAMESPACE), watch-enforcement its status to <metrics_namespace>/Enforcement (ENFORCEMENT_METRICS_NAMESPACE)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key for the queues, log groups and environment variables; the functions may use it (through SQS and SNS only) to read their queue and publish to encrypted topics. Null leaves them under AWS owned keys (and the queues unencrypted), and refuses database_url."
  type        = string
}

variable "events_topic_arn" {
  description = "ARN of the SNS topic with the SES events; the event queue subscribes to it."
  type        = string
}

variable "warning_topic_arn" {
  description = "ARN of the warning alert topic, where sync-thresholds announces threshold changes."
  type        = string
}

variable "critical_topic_arn" {
  description = "ARN of the critical alert topic: disable-sending subscribes to it and announces there that it stopped sending."
  type        = string
}

variable "db_secret_arn" {
  description = "ARN of the Secrets Manager secret with the application database's credentials, in the JSON format RDS uses (engine, host, port, username, password, dbname). Set this or database_url."
  type        = string
}

variable "db_secret_kms_key_arn" {
  description = "ARN of the customer-managed KMS key the database secret is encrypted with, if any; the functions get kms:Decrypt on it."
  type        = string
}

variable "database_url" {
  description = "SQLAlchemy URL of the database (DATABASE_URL), instead of db_secret_arn, for databases outside AWS or a demo. It lands in the functions' environment, so prefer db_secret_arn for real credentials."
  type        = string
  sensitive   = true
}

variable "users_table" {
  description = "The application's table of users (USERS_TABLE)."
  type        = string
}

variable "users_id_column" {
  description = "Primary key column of the users table (USERS_ID_COLUMN)."
  type        = string
}

variable "users_email_column" {
  description = "Email address column of the users table (USERS_EMAIL_COLUMN)."
  type        = string
}

variable "users_email_lookup" {
  description = "How recipients are matched to users (USERS_EMAIL_LOOKUP). \"auto\" searches the email column through its index when its collation ignores case and trailing spaces (MariaDB's default utf8mb4_general_ci, utf8mb4_unicode_ci; not MySQL 8's NO PAD utf8mb4_0900_ai_ci) and normalizes the column in SQL otherwise; \"scan\" always normalizes it in SQL (LOWER(TRIM())), which reads the whole users table for every batch."
  type        = string
}

variable "users_validated_column" {
  description = "Column of the users table that says whether the address may be mailed (USERS_VALIDATED_COLUMN); suppress-bouncing-users sets it to 0."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets for the functions, when the database is only reachable inside a VPC. The subnets need a route to the AWS APIs the functions call (NAT, or VPC endpoints for Secrets Manager, SES, SNS, CloudWatch). Empty runs them outside any VPC."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the functions in the VPC; they must allow reaching the database. Required with subnet_ids."
  type        = list(string)
}

variable "event_batch_size" {
  description = "Most SES events the processor receives in one invocation."
  type        = number
}

variable "event_batching_window_seconds" {
  description = "How long Lambda gathers events before invoking the processor, in seconds. Must be at least 1 when event_batch_size is above 10."
  type        = number
}

variable "event_processor_max_concurrency" {
  description = "Most processor invocations running at once (the event source mapping's maximum concurrency), which bounds the database connections it opens."
  type        = number
}

variable "event_max_receive_count" {
  description = "How often an event is tried before it moves to the dead-letter queue."
  type        = number
}

variable "dead_letter_redrive_role_arns" {
  description = "IAM roles allowed to move dead-lettered events back to the event queue; everyone else but the events topic is denied sqs:SendMessage."
  type        = list(string)
}

variable "create_functions" {
  description = "Which functions besides process-events to create, keyed by function: sync-thresholds, suppress-bouncing-users, watch-enforcement, disable-sending."
  type        = map(bool)
}

variable "sync_thresholds_schedule" {
  description = "EventBridge schedule expression of sync-thresholds."
  type        = string
}

variable "send_count_alarms" {
  description = "The send-count alarms sync-thresholds keeps: alarm name => percent of Max24HourSend."
  type        = map(number)
}

variable "send_count_alarm_arns" {
  description = "ARNs of the send-count alarms: the only alarms sync-thresholds may describe and change."
  type        = list(string)
}

variable "suppress_bouncing_users_schedule" {
  description = "EventBridge schedule expression of suppress-bouncing-users."
  type        = string
}

variable "suppress_bouncing_users_bounce_threshold" {
  description = "Bounces within the window after which a user is no longer mailed (HYGIENE_BOUNCE_THRESHOLD)."
  type        = number
}

variable "suppress_bouncing_users_window_days" {
  description = "Days of bounces suppress-bouncing-users counts (HYGIENE_WINDOW_DAYS)."
  type        = number
}

variable "suppress_bouncing_users_bounce_types" {
  description = "SES bounce types suppress-bouncing-users counts (HYGIENE_BOUNCE_TYPES)."
  type        = list(string)
}

variable "suppress_bouncing_users_invalidate_on_complaint" {
  description = "Also stop mailing users who complained (HYGIENE_INVALIDATE_ON_COMPLAINT)."
  type        = bool
}

variable "sync_suppression_list" {
  description = "suppress-bouncing-users also puts every address it invalidates on the SES account suppression list (SYNC_SUPPRESSION_LIST), reason BOUNCE or COMPLAINT."
  type        = bool
}

variable "watch_enforcement_schedule" {
  description = "EventBridge schedule expression of watch-enforcement."
  type        = string
}

variable "disable_sending_alarm_names" {
  description = "Names of the alarms whose ALARM notification makes disable-sending stop sending (BREAKER_ALARM_NAMES)."
  type        = list(string)
}

variable "disable_sending_configuration_sets" {
  description = "Configuration sets disable-sending disables (BREAKER_CONFIGURATION_SETS). Empty disables sending for the whole account, which also stops mail that does not use a configuration set, as leaked credentials usually do."
  type        = list(string)
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
}
