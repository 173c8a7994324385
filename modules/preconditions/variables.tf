# Each variable carries the facts of several inputs of the root module that are only valid together; its
# validation's error_message is what the plan prints. Facts only, never values: database_url holds a password.

variable "database_inputs" {
  description = "Which of the root module's db_secret_arn and database_url are set."
  type        = object({ db_secret_arn = bool, database_url = bool })

  validation {
    condition     = var.database_inputs.db_secret_arn || var.database_inputs.database_url
    error_message = "Set db_secret_arn (or database_url): every function reads or writes the application database."
  }

  validation {
    condition     = !(var.database_inputs.db_secret_arn && var.database_inputs.database_url)
    error_message = "Set db_secret_arn or database_url, not both: the functions would use database_url and ignore the secret."
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
