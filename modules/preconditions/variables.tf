# Each variable carries the facts of several inputs of the root module that are only valid together; its
# validation's error_message is what the plan prints. Facts only, never values: database_url holds a password.

variable "database_inputs" {
  description = "Which of the root module's db_secret_arn and database_url are set, and whether a customer-managed key (create_kms_key or kms_key_arn) encrypts the function environments."
  type        = object({ db_secret_arn = bool, database_url = bool, customer_managed_key = bool })

  validation {
    condition     = var.database_inputs.db_secret_arn || var.database_inputs.database_url
    error_message = "Set db_secret_arn (or database_url): every function reads or writes the application database."
  }

  validation {
    condition     = !(var.database_inputs.db_secret_arn && var.database_inputs.database_url)
    error_message = "Set db_secret_arn or database_url, not both: the functions would use database_url and ignore the secret."
  }

  # Anyone with lambda:GetFunctionConfiguration (read-only roles have it) reads an environment that only
  # Lambda's AWS managed key encrypts.
  validation {
    condition     = !var.database_inputs.database_url || var.database_inputs.customer_managed_key
    error_message = "The database_url needs a customer-managed key (create_kms_key = true or kms_key_arn): without one anyone allowed lambda:GetFunctionConfiguration reads the URL and its password. Or use db_secret_arn."
  }
}

# This rule and the next would otherwise pass the plan and fail the apply, half-way through.
variable "vpc_inputs" {
  description = "How many subnet_ids and security_group_ids the root module was given."
  type        = object({ subnet_ids = number, security_group_ids = number })

  validation {
    condition     = (var.vpc_inputs.subnet_ids > 0) == (var.vpc_inputs.security_group_ids > 0)
    error_message = "Set subnet_ids and security_group_ids together: Lambda needs both to run the functions in a VPC."
  }
}

variable "event_batching" {
  description = "The root module's event_batch_size and event_batching_window_seconds."
  type        = object({ batch_size = number, window_seconds = number })

  validation {
    condition     = var.event_batching.batch_size <= 10 || var.event_batching.window_seconds >= 1
    error_message = "An event_batch_size above 10 needs an event_batching_window_seconds of at least 1 (an SQS trigger rule)."
  }
}

variable "account_inputs" {
  description = "Whether the instance owns the account part (account_resources), names its owner (account), and how many identities and whether it was given the disable-sending function."
  type = object({
    owns_account           = bool
    names_its_owner        = bool
    identities             = number
    create_disable_sending = bool
  })

  validation {
    condition     = var.account_inputs.owns_account || var.account_inputs.names_its_owner
    error_message = "Set account = module.<owner>.account on an instance with account_resources = \"none\": exactly one instance per account and region owns the account part."
  }

  validation {
    condition     = var.account_inputs.owns_account || (var.account_inputs.identities == 0 && !var.account_inputs.create_disable_sending)
    error_message = "The identities and the disable-sending function (create_disable_sending) are account-level: set them on the instance with account_resources = \"create\", which records the identities' notifications in its own database."
  }
}

variable "package_inputs" {
  description = "Which of the root module's lambda_zip_path and lambda_s3_package are set."
  type        = object({ lambda_zip_path = bool, lambda_s3_package = bool })

  validation {
    condition     = var.package_inputs.lambda_zip_path != var.package_inputs.lambda_s3_package
    error_message = "Set lambda_zip_path or lambda_s3_package, exactly one: every function runs the one deployment package."
  }
}

variable "renamed_inputs" {
  description = "Each root module input that took its function's name, keyed by that name: whether it is set under that name (current) and under the name it had before (deprecated), and whether the two values are equal (agree)."
  type        = map(object({ current = bool, deprecated = bool, agree = bool }))

  validation {
    condition     = alltrue([for input in values(var.renamed_inputs) : !(input.current && input.deprecated) || input.agree])
    error_message = "Set each renamed input once, under its function's name: an input and its deprecated name set to different values contradict each other. Keep the new name only. The deprecated names and their replacements: create_quota_sync (create_sync_thresholds), create_bounce_hygiene (create_suppress_bouncing_users), create_enforcement_watch (create_watch_enforcement), create_sending_breaker (create_disable_sending), quota_sync_schedule (sync_thresholds_schedule), bounce_hygiene_schedule (suppress_bouncing_users_schedule), enforcement_watch_schedule (watch_enforcement_schedule), hygiene_bounce_threshold, hygiene_window_days, hygiene_bounce_types, hygiene_invalidate_on_complaint (suppress_bouncing_users_bounce_threshold, _window_days, _bounce_types, _invalidate_on_complaint), sending_breaker_alarms, sending_breaker_configuration_sets (disable_sending_alarms, disable_sending_configuration_sets)."
  }
}
