variable "name" {
  description = "Prefix of every resource name, and the service name the functions log and publish metrics under (POWERTOOLS_SERVICE_NAME): 1-40 letters, digits or hyphens, starting with a letter. The IAM role names derive from it and IAM is global: in an account with the module in several regions, give each region its own name (e.g. ses-guard-euw1)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,39}$", var.name))
    error_message = "The name must start with a letter and hold 1-40 letters, digits or hyphens: it names a CloudFormation stack (<name>-ses-events-source: letters, digits and hyphens, starting with a letter), and <name>-suppress-bouncing-users must fit the 64 characters of Lambda function, IAM role and EventBridge rule names."
  }
}

variable "tags" {
  description = "Tags for every resource that takes them."
  type        = map(string)
  default     = {}
}

variable "account_resources" {
  description = "Whether this instance owns what exists once per SES account and region: create (the default; the instance that lists identities, has the account alarms, sync-thresholds and disable-sending, and the owner marker /ses-reputation-guard/account-owner) or none (an application-only instance: configuration set, event pipeline, database, its own alarms and suppress-bouncing-users; needs account). A second owner in one account and region fails its apply on the marker."
  type        = string
  default     = "create"

  validation {
    condition     = contains(["create", "none"], var.account_resources)
    error_message = "The account_resources must be create or none."
  }
}

variable "account" {
  description = "The owning instance's account output (account = module.<owner>.account), required when account_resources is none: it names the owner and orders this instance after it."
  type = object({
    owner                 = string
    marker_parameter_name = string
  })
  default = null
}

variable "create_kms_key" {
  description = "Create a customer-managed KMS key (with rotation) and encrypt the topics, queues, log groups and function environments with it (about 1 USD a month plus requests; README, Security). Its key policy lets SES, CloudWatch, SNS and CloudWatch Logs of this account use it, each only for the guard's own resources; the AWS managed key alias/aws/sns would lock SES and CloudWatch out. Setting it to false with no kms_key_arn opts out of encryption at rest: the topics and queues then carry recipient addresses and mail headers unencrypted, and database_url is refused."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing customer-managed KMS key for the topics, queues, log groups and function environments, instead of creating one. Its key policy must let ses.amazonaws.com, cloudwatch.amazonaws.com and sns.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt, and logs.<region>.amazonaws.com encrypt. Ignored when create_kms_key is true."
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

variable "alert_subscriptions" {
  description = "Who hears the alerts, keyed by a stable name. tier is warning or critical; protocol is an SNS protocol (sms, email, email-json, https, sqs, lambda, application; not http, which would send alerts in clear text); endpoint is the phone number, address, URL or ARN. Email and HTTPS subscribers must confirm before they receive anything; a lambda endpoint must allow sns.amazonaws.com to invoke it."
  type = map(object({
    tier     = string
    protocol = string
    endpoint = string
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.alert_subscriptions) : contains(["warning", "critical"], s.tier)])
    error_message = "Every subscription's tier must be warning or critical."
  }

  validation {
    condition     = alltrue([for s in values(var.alert_subscriptions) : contains(["sms", "email", "email-json", "https", "sqs", "lambda", "application"], s.protocol)])
    error_message = "Every subscription's protocol must be one of sms, email, email-json, https, sqs, lambda, application (not http: alerts would travel in clear text)."
  }

  validation {
    condition     = alltrue([for s in values(var.alert_subscriptions) : length(trimspace(s.endpoint)) > 0])
    error_message = "Every subscription needs an endpoint."
  }
}

variable "create_configuration_set" {
  description = "Create a configuration set whose events (sends, rejects, bounces, complaints, deliveries, ...) go to the events topic. Mail must name it (ConfigurationSetName, or a default configuration set) to be tracked."
  type        = bool
  default     = true
}

variable "configuration_set_event_types" {
  description = "Events the configuration set publishes to the topic. The event processor records every type it receives, one row per recipient."
  type        = list(string)
  default     = ["send", "reject", "bounce", "complaint", "delivery", "open", "click", "renderingFailure"]

  validation {
    condition     = length(var.configuration_set_event_types) > 0 && alltrue([for t in var.configuration_set_event_types : contains(["send", "reject", "bounce", "complaint", "delivery", "open", "click", "renderingFailure"], t)])
    error_message = "The event_types must be a non-empty subset of send, reject, bounce, complaint, delivery, open, click, renderingFailure."
  }
}

variable "configuration_set_tls_policy" {
  description = "Whether mail sent through the configuration set must be delivered over TLS (Require) or may fall back to plain text (Optional). Require drops mail to receiving servers without STARTTLS."
  type        = string
  default     = "Optional"

  validation {
    condition     = contains(["Require", "Optional"], var.configuration_set_tls_policy)
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

variable "daily_send_quota" {
  description = "The account's SES sending quota (Max24HourSend) when the alarms are created. The send-count thresholds start as percentages of it; afterwards the sync-thresholds function owns them and Terraform ignores their drift."
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
  description = "CloudWatch namespace of the event processor's custom metrics (POWERTOOLS_METRICS_NAMESPACE), which the unregistered-recipient alarms (and disable-sending) watch. Null means SESGuard/<name>: a namespace of this instance alone, which no role of the module may write (sync-thresholds writes to <namespace>/Quota, watch-enforcement to <namespace>/Enforcement). Anyone allowed cloudwatch:PutMetricData in it can raise the alarms: README, Security."
  type        = string
  default     = null

  validation {
    condition     = var.metrics_namespace == null || (can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !can(regex("^AWS/", var.metrics_namespace)))
    error_message = "The metrics_namespace must be 1-255 characters of letters, digits and _ . / # : - and must not start with AWS/."
  }
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

variable "create_pipeline_alarms" {
  description = "Create the alarms on the event pipeline's own health: processor errors, dead letters, age of the oldest queued event, and a failure of any automation function (automation-errors-<function>)."
  type        = bool
  default     = true
}

variable "lambda_zip_path" {
  description = "Path of the deployment package built by `make build` (dist/ses-guard-lambda.zip): the ses_guard package with SQLAlchemy, PyMySQL and Powertools, for Lambda's x86_64 Linux. Set this or lambda_s3_package."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip_path == null || can(regex("\\.zip$", var.lambda_zip_path))
    error_message = "The lambda_zip_path must name a .zip file."
  }
}

variable "lambda_s3_package" {
  description = "The same deployment package, taken from S3 instead of a local file (organisations whose pipelines publish artifacts to a bucket): bucket, key and, for a versioned bucket, the object version (null for the latest). Set this or lambda_zip_path. Terraform cannot hash an S3 object: publish each build under a new key or object version to update the functions."
  type        = object({ bucket = string, key = string, object_version = string })
  default     = null

  validation {
    condition     = var.lambda_s3_package == null || (try(length(var.lambda_s3_package.bucket), 0) > 0 && can(regex("\\.zip$", var.lambda_s3_package.key)))
    error_message = "The lambda_s3_package needs a bucket and a key naming a .zip file."
  }
}

variable "iam_role_path" {
  description = "Path of every IAM role the module creates (organisations that reserve paths for platform roles, e.g. /ses-guard/). Changing it replaces the roles."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7e]{0,510}/)?$", var.iam_role_path))
    error_message = "The iam_role_path must start and end with / (e.g. /ses-guard/), at most 512 printable characters."
  }
}

variable "iam_permissions_boundary_arn" {
  description = "ARN of the IAM managed policy set as the permissions boundary of every role the module creates, where the organisation requires one; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.iam_permissions_boundary_arn == null || can(regex("^arn:[a-z-]+:iam::([0-9]{12}|aws):policy/.+$", var.iam_permissions_boundary_arn))
    error_message = "The iam_permissions_boundary_arn must be an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>)."
  }
}

variable "lambda_runtime" {
  description = "Lambda runtime of the functions; the package must be built for the same Python (LAMBDA_PYTHON of `make build`, 3.12 by default)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.lambda_runtime))
    error_message = "The runtime must be a Python 3 Lambda runtime such as python3.12."
  }
}

variable "lambda_memory_size" {
  description = "Memory of each function, in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "The memory_size must be between 128 and 10240 MB."
  }
}

variable "lambda_timeout" {
  description = "Timeout of each function, in seconds. The event queue's visibility timeout is six times this, as Lambda advises for SQS sources."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout >= 1 && var.lambda_timeout <= 900
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
  description = "SQLAlchemy URL of the database (DATABASE_URL), instead of db_secret_arn, for databases outside AWS or a demo. It lands in the functions' environment and in the Terraform state in plain text, so prefer db_secret_arn for real credentials; the plan refuses it without a customer-managed key for the environments (create_kms_key or kms_key_arn)."
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
  description = "Column of the users table that says whether the address may be mailed (USERS_VALIDATED_COLUMN); suppress-bouncing-users sets it to 0."
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
  description = "IAM roles allowed to move dead-lettered events back to the event queue (StartMessageMoveTask, the console's DLQ redrive), which sends as the role that starts it. The queue's policy denies sqs:SendMessage to everyone else but the events topic, since whoever sends there can forge SES events."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.dead_letter_redrive_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "Each dead_letter_redrive_role_arns entry must be an IAM role ARN: arn:<partition>:iam::<account>:role/<name>."
  }
}

variable "create_sync_thresholds" {
  description = "Create the sync-thresholds function, which keeps the send-count alarm thresholds at their share of the SES quota (on the account owner only: account_resources = create). Null, the default, means true."
  type        = bool
  default     = null
}

variable "sync_thresholds_schedule" {
  description = "EventBridge schedule expression of the sync-thresholds function. Null, the default, means rate(1 hour)."
  type        = string
  default     = null

  validation {
    condition     = var.sync_thresholds_schedule == null ? true : can(regex("^(rate|cron)\\(.+\\)$", var.sync_thresholds_schedule))
    error_message = "The sync_thresholds_schedule must be rate(...) or cron(...)."
  }
}

variable "create_suppress_bouncing_users" {
  description = "Create the suppress-bouncing-users function, which stops mailing users whose addresses keep bouncing (sets their validated column to 0). Null, the default, means true."
  type        = bool
  default     = null
}

variable "suppress_bouncing_users_schedule" {
  description = "EventBridge schedule expression of the suppress-bouncing-users function. Null, the default, means rate(1 day)."
  type        = string
  default     = null

  validation {
    condition     = var.suppress_bouncing_users_schedule == null ? true : can(regex("^(rate|cron)\\(.+\\)$", var.suppress_bouncing_users_schedule))
    error_message = "The suppress_bouncing_users_schedule must be rate(...) or cron(...)."
  }
}

variable "suppress_bouncing_users_bounce_threshold" {
  description = "Bounces within the window after which suppress-bouncing-users no longer mails a user (HYGIENE_BOUNCE_THRESHOLD). Null, the default, means 5."
  type        = number
  default     = null

  validation {
    condition     = var.suppress_bouncing_users_bounce_threshold == null ? true : var.suppress_bouncing_users_bounce_threshold >= 1 && floor(var.suppress_bouncing_users_bounce_threshold) == var.suppress_bouncing_users_bounce_threshold
    error_message = "The suppress_bouncing_users_bounce_threshold must be a whole number of at least 1."
  }
}

variable "suppress_bouncing_users_window_days" {
  description = "Days of bounces suppress-bouncing-users counts (HYGIENE_WINDOW_DAYS). Null, the default, means 30."
  type        = number
  default     = null

  validation {
    condition     = var.suppress_bouncing_users_window_days == null ? true : var.suppress_bouncing_users_window_days >= 1 && floor(var.suppress_bouncing_users_window_days) == var.suppress_bouncing_users_window_days
    error_message = "The suppress_bouncing_users_window_days must be a whole number of at least 1."
  }
}

variable "suppress_bouncing_users_bounce_types" {
  description = "SES bounce types suppress-bouncing-users counts (HYGIENE_BOUNCE_TYPES). Null, the default, means [\"Permanent\", \"Transient\"]."
  type        = list(string)
  default     = null

  validation {
    condition     = var.suppress_bouncing_users_bounce_types == null ? true : length(var.suppress_bouncing_users_bounce_types) > 0 && alltrue([for t in var.suppress_bouncing_users_bounce_types : contains(["Permanent", "Transient", "Undetermined"], t)])
    error_message = "The suppress_bouncing_users_bounce_types must be a non-empty subset of Permanent, Transient, Undetermined."
  }
}

variable "suppress_bouncing_users_invalidate_on_complaint" {
  description = "suppress-bouncing-users also stops mailing users who complained (HYGIENE_INVALIDATE_ON_COMPLAINT). Null, the default, means true."
  type        = bool
  default     = null
}

variable "sync_suppression_list" {
  description = "suppress-bouncing-users also puts every address it invalidates on the SES account suppression list (reason BOUNCE or COMPLAINT), which stops mail to it from every sender of the account; gives the suppress-bouncing-users function ses:PutSuppressedDestination. `ses-guard suppression diff` shows where the list and the users table disagree."
  type        = bool
  default     = false
}

variable "create_watch_enforcement" {
  description = "Create the watch-enforcement function, which reads AWS's verdict on the SES account (sesv2 GetAccount: HEALTHY, PROBATION, SHUTDOWN, sending enabled) on a schedule, publishes it as metrics, announces every change, and its critical alarm. Created by the account owner only (account_resources = create). Null, the default, means true."
  type        = bool
  default     = null
}

variable "watch_enforcement_schedule" {
  description = "EventBridge schedule expression of the watch-enforcement function. Null, the default, means rate(1 hour)."
  type        = string
  default     = null

  validation {
    condition     = var.watch_enforcement_schedule == null ? true : can(regex("^(rate|cron)\\(.+\\)$", var.watch_enforcement_schedule))
    error_message = "The watch_enforcement_schedule must be rate(...) or cron(...)."
  }
}

variable "watch_enforcement_alarm_period" {
  description = "Period of the watch-enforcement alarm (account-enforcement-critical), in seconds: at least the interval of watch_enforcement_schedule, so that every period holds a reading."
  type        = number
  default     = 3600

  validation {
    condition     = var.watch_enforcement_alarm_period >= 60 && var.watch_enforcement_alarm_period <= 86400 && var.watch_enforcement_alarm_period % 60 == 0
    error_message = "The watch_enforcement_alarm_period must be a multiple of 60 between 60 and 86400 seconds."
  }
}

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard for the instance: quota used, bounce and complaint rates with the alarm lines, mail to non-users, the pipeline, AWS's verdict."
  type        = bool
  default     = true
}

variable "create_disable_sending" {
  description = "Create the disable-sending function, the circuit breaker, on the critical topic, which disables SES sending when one of disable_sending_alarms goes to ALARM. It never re-enables sending; see the runbook. Null, the default, means false."
  type        = bool
  default     = null
}

variable "disable_sending_alarms" {
  description = "Which critical alarms make disable-sending stop sending: any of unregistered-recipients, bounce-rate, complaint-rate, send-count. Null, the default, means [\"unregistered-recipients\"]."
  type        = list(string)
  default     = null

  validation {
    condition     = var.disable_sending_alarms == null ? true : length(var.disable_sending_alarms) > 0 && alltrue([for alarm in var.disable_sending_alarms : contains(["unregistered-recipients", "bounce-rate", "complaint-rate", "send-count"], alarm)])
    error_message = "The disable_sending_alarms must be a non-empty subset of unregistered-recipients, bounce-rate, complaint-rate, send-count."
  }
}

variable "disable_sending_configuration_sets" {
  description = "Configuration sets disable-sending disables. Empty disables sending for the whole account, which also stops mail that does not use a configuration set, as leaked credentials usually do. Null, the default, means []."
  type        = list(string)
  default     = null

  validation {
    condition     = var.disable_sending_configuration_sets == null ? true : alltrue([for name in var.disable_sending_configuration_sets : can(regex("^[A-Za-z0-9_-]{1,64}$", name))])
    error_message = "Each configuration set name in disable_sending_configuration_sets must be 1-64 letters, digits, hyphens or underscores."
  }
}

# The names the toggles and the functions' inputs had before they took their functions' names; main.tf reads
# each with its replacement (local.renamed_inputs).
variable "create_quota_sync" {
  description = "Deprecated: use create_sync_thresholds (the same toggle under its function's name, sync-thresholds). When set, it still decides; set together with create_sync_thresholds to another value, it fails the plan."
  type        = bool
  default     = null
}

variable "create_bounce_hygiene" {
  description = "Deprecated: use create_suppress_bouncing_users (the same toggle under its function's name, suppress-bouncing-users). When set, it still decides; set together with create_suppress_bouncing_users to another value, it fails the plan."
  type        = bool
  default     = null
}

variable "create_enforcement_watch" {
  description = "Deprecated: use create_watch_enforcement (the same toggle under its function's name, watch-enforcement). When set, it still decides; set together with create_watch_enforcement to another value, it fails the plan."
  type        = bool
  default     = null
}

variable "create_sending_breaker" {
  description = "Deprecated: use create_disable_sending (the same toggle under its function's name, disable-sending). When set, it still decides; set together with create_disable_sending to another value, it fails the plan."
  type        = bool
  default     = null
}

variable "quota_sync_schedule" {
  description = "Deprecated: use sync_thresholds_schedule (the same input under its function's name, sync-thresholds). When set, it still decides; set together with sync_thresholds_schedule to another value, it fails the plan."
  type        = string
  default     = null

  validation {
    condition     = var.quota_sync_schedule == null ? true : can(regex("^(rate|cron)\\(.+\\)$", var.quota_sync_schedule))
    error_message = "The quota_sync_schedule must be rate(...) or cron(...)."
  }
}

variable "bounce_hygiene_schedule" {
  description = "Deprecated: use suppress_bouncing_users_schedule (the same input under its function's name, suppress-bouncing-users). When set, it still decides; set together with suppress_bouncing_users_schedule to another value, it fails the plan."
  type        = string
  default     = null

  validation {
    condition     = var.bounce_hygiene_schedule == null ? true : can(regex("^(rate|cron)\\(.+\\)$", var.bounce_hygiene_schedule))
    error_message = "The bounce_hygiene_schedule must be rate(...) or cron(...)."
  }
}

variable "hygiene_bounce_threshold" {
  description = "Deprecated: use suppress_bouncing_users_bounce_threshold (the same input under its function's name, suppress-bouncing-users). When set, it still decides; set together with suppress_bouncing_users_bounce_threshold to another value, it fails the plan."
  type        = number
  default     = null

  validation {
    condition     = var.hygiene_bounce_threshold == null ? true : var.hygiene_bounce_threshold >= 1 && floor(var.hygiene_bounce_threshold) == var.hygiene_bounce_threshold
    error_message = "The hygiene_bounce_threshold must be a whole number of at least 1."
  }
}

variable "hygiene_window_days" {
  description = "Deprecated: use suppress_bouncing_users_window_days (the same input under its function's name, suppress-bouncing-users). When set, it still decides; set together with suppress_bouncing_users_window_days to another value, it fails the plan."
  type        = number
  default     = null

  validation {
    condition     = var.hygiene_window_days == null ? true : var.hygiene_window_days >= 1 && floor(var.hygiene_window_days) == var.hygiene_window_days
    error_message = "The hygiene_window_days must be a whole number of at least 1."
  }
}

variable "hygiene_bounce_types" {
  description = "Deprecated: use suppress_bouncing_users_bounce_types (the same input under its function's name, suppress-bouncing-users). When set, it still decides; set together with suppress_bouncing_users_bounce_types to another value, it fails the plan."
  type        = list(string)
  default     = null

  validation {
    condition     = var.hygiene_bounce_types == null ? true : length(var.hygiene_bounce_types) > 0 && alltrue([for t in var.hygiene_bounce_types : contains(["Permanent", "Transient", "Undetermined"], t)])
    error_message = "The hygiene_bounce_types must be a non-empty subset of Permanent, Transient, Undetermined."
  }
}

variable "hygiene_invalidate_on_complaint" {
  description = "Deprecated: use suppress_bouncing_users_invalidate_on_complaint (the same input under its function's name, suppress-bouncing-users). When set, it still decides; set together with suppress_bouncing_users_invalidate_on_complaint to another value, it fails the plan."
  type        = bool
  default     = null
}

variable "enforcement_watch_schedule" {
  description = "Deprecated: use watch_enforcement_schedule (the same input under its function's name, watch-enforcement). When set, it still decides; set together with watch_enforcement_schedule to another value, it fails the plan."
  type        = string
  default     = null

  validation {
    condition     = var.enforcement_watch_schedule == null ? true : can(regex("^(rate|cron)\\(.+\\)$", var.enforcement_watch_schedule))
    error_message = "The enforcement_watch_schedule must be rate(...) or cron(...)."
  }
}

variable "sending_breaker_alarms" {
  description = "Deprecated: use disable_sending_alarms (the same input under its function's name, disable-sending). When set, it still decides; set together with disable_sending_alarms to another value, it fails the plan."
  type        = list(string)
  default     = null

  validation {
    condition     = var.sending_breaker_alarms == null ? true : length(var.sending_breaker_alarms) > 0 && alltrue([for alarm in var.sending_breaker_alarms : contains(["unregistered-recipients", "bounce-rate", "complaint-rate", "send-count"], alarm)])
    error_message = "The sending_breaker_alarms must be a non-empty subset of unregistered-recipients, bounce-rate, complaint-rate, send-count."
  }
}

variable "sending_breaker_configuration_sets" {
  description = "Deprecated: use disable_sending_configuration_sets (the same input under its function's name, disable-sending). When set, it still decides; set together with disable_sending_configuration_sets to another value, it fails the plan."
  type        = list(string)
  default     = null

  validation {
    condition     = var.sending_breaker_configuration_sets == null ? true : alltrue([for name in var.sending_breaker_configuration_sets : can(regex("^[A-Za-z0-9_-]{1,64}$", name))])
    error_message = "Each configuration set name in sending_breaker_configuration_sets must be 1-64 letters, digits, hyphens or underscores."
  }
}
