variable "name" {
  description = "Prefix of every resource name, and the functions' POWERTOOLS_SERVICE_NAME (the service dimension of their metrics). IAM role names derive from it and IAM is global: one name per region of an account."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,39}$", var.name))
    error_message = "The name must start with a letter and hold 1-40 letters, digits or hyphens: it names a CloudFormation stack (<name>-ses-events-source), and <name>-suppress-bouncing-users must fit the 64 characters of Lambda function, IAM role and EventBridge rule names."
  }
}

variable "lambda_zip_path" {
  description = "Path of the deployment package built by `make build` (dist/ses-guard-lambda.zip), or null with lambda_s3_package."
  type        = string
  default     = null
}

variable "lambda_s3_package" {
  description = "The deployment package in S3 (bucket, key, object_version), or null with lambda_zip_path."
  type        = object({ bucket = string, key = string, object_version = string })
  default     = null
}

variable "role_path" {
  description = "Path of the functions' IAM roles."
  type        = string
  default     = "/"
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary policy of the functions' IAM roles, or null."
  type        = string
  default     = null
}

variable "runtime" {
  description = "Lambda runtime of the functions; the package must be built for the same Python (LAMBDA_PYTHON of `make build`, 3.12 by default)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.runtime))
    error_message = "The runtime must be a Python 3 Lambda runtime such as python3.12."
  }
}

variable "memory_size" {
  description = "Memory of each function, in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "The memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout of each function, in seconds. The event queue's visibility timeout is six times this, as Lambda advises for SQS sources."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "The timeout must be between 1 and 900 seconds."
  }
}

variable "log_level" {
  description = "Log level of the functions (POWERTOOLS_LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "The log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "log_retention_in_days" {
  description = "How long the functions' logs are kept. The processor's logs are the evidence when credentials leak, so keep them long enough for an investigation."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_in_days)
    error_message = "The log_retention_in_days must be one CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827 or 3653."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the event processor's metrics (POWERTOOLS_METRICS_NAMESPACE), which the unregistered-recipient alarms watch. No function's role may write to it: the quota sync writes its side metric to <metrics_namespace>/Quota (QUOTA_METRICS_NAMESPACE), the enforcement watch its status to <metrics_namespace>/Enforcement (ENFORCEMENT_METRICS_NAMESPACE)."
  type        = string
  default     = "SESGuard"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !can(regex("^AWS/", var.metrics_namespace))
    error_message = "The metrics_namespace must be 1-255 characters of letters, digits and _ . / # : - and must not start with AWS/."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key for the queues, log groups and environment variables; the functions may use it (through SQS and SNS only) to read their queue and publish to encrypted topics. Null leaves them under AWS owned keys (and the queues unencrypted), and refuses database_url."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN: arn:<partition>:kms:<region>:<account>:key/<key id>."
  }
}

variable "events_topic_arn" {
  description = "ARN of the SNS topic with the SES events; the event queue subscribes to it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.events_topic_arn))
    error_message = "The events_topic_arn must be an SNS topic ARN."
  }
}

variable "warning_topic_arn" {
  description = "ARN of the warning alert topic, where the quota-sync function announces threshold changes."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.warning_topic_arn))
    error_message = "The warning_topic_arn must be an SNS topic ARN."
  }
}

variable "critical_topic_arn" {
  description = "ARN of the critical alert topic: the sending breaker subscribes to it and announces there that it stopped sending."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.critical_topic_arn))
    error_message = "The critical_topic_arn must be an SNS topic ARN."
  }
}

variable "db_secret_arn" {
  description = "ARN of the Secrets Manager secret with the application database's credentials, in the JSON format RDS uses (engine, host, port, username, password, dbname). Set this or database_url."
  type        = string
  default     = null

  validation {
    condition     = var.db_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.db_secret_arn))
    error_message = "The db_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "db_secret_kms_key_arn" {
  description = "ARN of the customer-managed KMS key the database secret is encrypted with, if any; the functions get kms:Decrypt on it."
  type        = string
  default     = null

  validation {
    condition     = var.db_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.db_secret_kms_key_arn))
    error_message = "The db_secret_kms_key_arn must be a KMS key ARN."
  }
}

variable "database_url" {
  description = "SQLAlchemy URL of the database (DATABASE_URL), instead of db_secret_arn, for databases outside AWS or a demo. It lands in the functions' environment, so prefer db_secret_arn for real credentials."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.database_url == null || can(regex("^[a-z0-9+]+://", var.database_url))
    error_message = "The database_url must be an SQLAlchemy URL such as mysql+pymysql://user:pass@host/db."
  }
}

variable "users_table" {
  description = "The application's table of users (USERS_TABLE)."
  type        = string
  default     = "users"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,63}$", var.users_table))
    error_message = "The users_table must be a plain SQL identifier of at most 64 characters."
  }
}

variable "users_id_column" {
  description = "Primary key column of the users table (USERS_ID_COLUMN)."
  type        = string
  default     = "user_id"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,63}$", var.users_id_column))
    error_message = "The users_id_column must be a plain SQL identifier of at most 64 characters."
  }
}

variable "users_email_column" {
  description = "Email address column of the users table (USERS_EMAIL_COLUMN)."
  type        = string
  default     = "email_address"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,63}$", var.users_email_column))
    error_message = "The users_email_column must be a plain SQL identifier of at most 64 characters."
  }
}

variable "users_email_lookup" {
  description = "How recipients are matched to users (USERS_EMAIL_LOOKUP). \"auto\" searches the email column through its index when its collation ignores case and trailing spaces (MariaDB's default utf8mb4_general_ci, utf8mb4_unicode_ci; not MySQL 8's NO PAD utf8mb4_0900_ai_ci) and normalizes the column in SQL otherwise; \"scan\" always normalizes it in SQL (LOWER(TRIM())), which reads the whole users table for every batch."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "scan"], var.users_email_lookup)
    error_message = "The users_email_lookup must be \"auto\" or \"scan\"."
  }
}

variable "users_validated_column" {
  description = "Column of the users table that says whether the address may be mailed (USERS_VALIDATED_COLUMN); bounce hygiene sets it to 0."
  type        = string
  default     = "validated"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,63}$", var.users_validated_column))
    error_message = "The users_validated_column must be a plain SQL identifier of at most 64 characters."
  }
}

variable "subnet_ids" {
  description = "Subnets for the functions, when the database is only reachable inside a VPC. The subnets need a route to the AWS APIs the functions call (NAT, or VPC endpoints for Secrets Manager, SES, SNS, CloudWatch). Empty runs them outside any VPC."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "Each subnet ID must look like subnet-0123abcd."
  }
}

variable "security_group_ids" {
  description = "Security groups of the functions in the VPC; they must allow reaching the database. Required with subnet_ids."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "Each security group ID must look like sg-0123abcd."
  }
}

variable "event_batch_size" {
  description = "Most SES events the processor receives in one invocation."
  type        = number
  default     = 10

  validation {
    condition     = var.event_batch_size >= 1 && var.event_batch_size <= 10000
    error_message = "The event_batch_size must be between 1 and 10000."
  }
}

variable "event_batching_window_seconds" {
  description = "How long Lambda gathers events before invoking the processor, in seconds. Must be at least 1 when event_batch_size is above 10."
  type        = number
  default     = 5

  validation {
    condition     = var.event_batching_window_seconds >= 0 && var.event_batching_window_seconds <= 300
    error_message = "The event_batching_window_seconds must be between 0 and 300."
  }
}

variable "event_processor_max_concurrency" {
  description = "Most processor invocations running at once (the event source mapping's maximum concurrency), which bounds the database connections it opens."
  type        = number
  default     = 2

  validation {
    condition     = var.event_processor_max_concurrency >= 2 && var.event_processor_max_concurrency <= 1000
    error_message = "The event_processor_max_concurrency must be between 2 and 1000 (Lambda's limits)."
  }
}

variable "event_max_receive_count" {
  description = "How often an event is tried before it moves to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.event_max_receive_count >= 1 && var.event_max_receive_count <= 1000
    error_message = "The event_max_receive_count must be between 1 and 1000."
  }
}

variable "dead_letter_redrive_role_arns" {
  description = "IAM roles allowed to move dead-lettered events back to the event queue; everyone else but the events topic is denied sqs:SendMessage."
  type        = list(string)
  default     = []
}

variable "create_quota_sync" {
  description = "Create the function that keeps the send-count alarm thresholds at their share of the SES quota."
  type        = bool
  default     = true
}

variable "quota_sync_schedule" {
  description = "EventBridge schedule expression of the quota sync."
  type        = string
  default     = "rate(1 hour)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.quota_sync_schedule))
    error_message = "The quota_sync_schedule must be rate(...) or cron(...)."
  }
}

variable "send_count_alarms" {
  description = "The send-count alarms the quota sync keeps: alarm name => percent of Max24HourSend."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for percent in values(var.send_count_alarms) : percent > 0 && percent <= 100])
    error_message = "Each send-count alarm's percent must be above 0 and at most 100."
  }
}

variable "send_count_alarm_arns" {
  description = "ARNs of the send-count alarms: the only alarms the quota sync may describe and change."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.send_count_alarm_arns : can(regex("^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:.+$", arn))])
    error_message = "Each send-count alarm ARN must be a CloudWatch alarm ARN."
  }
}

variable "create_bounce_hygiene" {
  description = "Create the function that stops mailing users whose addresses keep bouncing (sets their validated column to 0)."
  type        = bool
  default     = true
}

variable "bounce_hygiene_schedule" {
  description = "EventBridge schedule expression of the bounce hygiene."
  type        = string
  default     = "rate(1 day)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.bounce_hygiene_schedule))
    error_message = "The bounce_hygiene_schedule must be rate(...) or cron(...)."
  }
}

variable "hygiene_bounce_threshold" {
  description = "Bounces within the window after which a user is no longer mailed (HYGIENE_BOUNCE_THRESHOLD)."
  type        = number
  default     = 5

  validation {
    condition     = var.hygiene_bounce_threshold >= 1 && floor(var.hygiene_bounce_threshold) == var.hygiene_bounce_threshold
    error_message = "The hygiene_bounce_threshold must be a whole number of at least 1."
  }
}

variable "hygiene_window_days" {
  description = "Days of bounces the hygiene counts (HYGIENE_WINDOW_DAYS)."
  type        = number
  default     = 30

  validation {
    condition     = var.hygiene_window_days >= 1 && floor(var.hygiene_window_days) == var.hygiene_window_days
    error_message = "The hygiene_window_days must be a whole number of at least 1."
  }
}

variable "hygiene_bounce_types" {
  description = "SES bounce types the hygiene counts (HYGIENE_BOUNCE_TYPES)."
  type        = list(string)
  default     = ["Permanent", "Transient"]

  validation {
    condition     = length(var.hygiene_bounce_types) > 0 && alltrue([for t in var.hygiene_bounce_types : contains(["Permanent", "Transient", "Undetermined"], t)])
    error_message = "The hygiene_bounce_types must be a non-empty subset of Permanent, Transient, Undetermined."
  }
}

variable "hygiene_invalidate_on_complaint" {
  description = "Also stop mailing users who complained (HYGIENE_INVALIDATE_ON_COMPLAINT)."
  type        = bool
  default     = true
}

variable "sync_suppression_list" {
  description = "Bounce hygiene also puts every address it invalidates on the SES account suppression list (SYNC_SUPPRESSION_LIST), reason BOUNCE or COMPLAINT."
  type        = bool
  default     = false
}

variable "create_enforcement_watch" {
  description = "Create the function that reads AWS's verdict on the SES account (sesv2 GetAccount) on a schedule, publishes it as metrics and announces every change."
  type        = bool
  default     = true
}

variable "enforcement_watch_schedule" {
  description = "EventBridge schedule expression of the enforcement watch."
  type        = string
  default     = "rate(1 hour)"
}

variable "create_sending_breaker" {
  description = "Create the function that disables SES sending when one of breaker_alarm_names goes to ALARM on the critical topic. It never re-enables sending."
  type        = bool
  default     = false
}

variable "breaker_alarm_names" {
  description = "Names of the alarms whose ALARM notification makes the breaker stop sending (BREAKER_ALARM_NAMES)."
  type        = list(string)
  default     = []
}

variable "breaker_configuration_sets" {
  description = "Configuration sets the breaker disables (BREAKER_CONFIGURATION_SETS). Empty disables sending for the whole account, which also stops mail that does not use a configuration set, as leaked credentials usually do."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.breaker_configuration_sets : can(regex("^[A-Za-z0-9_-]{1,64}$", name))])
    error_message = "Each configuration set name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}
