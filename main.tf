locals {
  # The guard's evidence lives in a namespace of this instance alone (README, Security).
  metrics_namespace = coalesce(var.metrics_namespace, "SESGuard/${var.name}")
}

module "preconditions" {
  source = "./modules/preconditions"

  database_inputs = {
    db_secret_arn        = var.db_secret_arn != null
    database_url         = var.database_url != null
    customer_managed_key = var.create_kms_key || var.kms_key_arn != null
  }
  vpc_inputs     = { subnet_ids = length(var.subnet_ids), security_group_ids = length(var.security_group_ids) }
  event_batching = { batch_size = var.event_batch_size, window_seconds = var.event_batching_window_seconds }
  package_inputs = { lambda_zip_path = var.lambda_zip_path != null, lambda_s3_package = var.lambda_s3_package != null }
  account_inputs = {
    owns_account           = local.owns_account
    names_its_owner        = var.account != null
    identities             = length(var.identities)
    create_disable_sending = local.creates["disable-sending"]
  }
  # Facts only: whether each renamed input is set under its name and under its deprecated name, and if both agree.
  renamed_inputs = {
    for name, input in local.renamed_inputs : name => {
      current    = input.current != null
      deprecated = input.deprecated != null
      agree      = input.current == input.deprecated
    }
  }
}

locals {
  owns_account = var.account_resources == "create"

  # The inputs that took their functions' names, under that name (current) and under the name they had before
  # (deprecated), which when set still decides; both set to different values fail the plan (modules/preconditions).
  # Neither set means default. README, Upgrading lists them.
  renamed_inputs = {
    create_sync_thresholds                          = { current = var.create_sync_thresholds, deprecated = var.create_quota_sync, default = true }
    create_suppress_bouncing_users                  = { current = var.create_suppress_bouncing_users, deprecated = var.create_bounce_hygiene, default = true }
    create_watch_enforcement                        = { current = var.create_watch_enforcement, deprecated = var.create_enforcement_watch, default = true }
    create_disable_sending                          = { current = var.create_disable_sending, deprecated = var.create_sending_breaker, default = false }
    sync_thresholds_schedule                        = { current = var.sync_thresholds_schedule, deprecated = var.quota_sync_schedule, default = "rate(1 hour)" }
    suppress_bouncing_users_schedule                = { current = var.suppress_bouncing_users_schedule, deprecated = var.bounce_hygiene_schedule, default = "rate(1 day)" }
    suppress_bouncing_users_bounce_threshold        = { current = var.suppress_bouncing_users_bounce_threshold, deprecated = var.hygiene_bounce_threshold, default = 5 }
    suppress_bouncing_users_window_days             = { current = var.suppress_bouncing_users_window_days, deprecated = var.hygiene_window_days, default = 30 }
    suppress_bouncing_users_bounce_types            = { current = var.suppress_bouncing_users_bounce_types, deprecated = var.hygiene_bounce_types, default = ["Permanent", "Transient"] }
    suppress_bouncing_users_invalidate_on_complaint = { current = var.suppress_bouncing_users_invalidate_on_complaint, deprecated = var.hygiene_invalidate_on_complaint, default = true }
    watch_enforcement_schedule                      = { current = var.watch_enforcement_schedule, deprecated = var.enforcement_watch_schedule, default = "rate(1 hour)" }
    disable_sending_alarms                          = { current = var.disable_sending_alarms, deprecated = var.sending_breaker_alarms, default = ["unregistered-recipients"] }
    disable_sending_configuration_sets              = { current = var.disable_sending_configuration_sets, deprecated = var.sending_breaker_configuration_sets, default = [] }
  }
  # The value each of them takes.
  inputs = {
    for name, input in local.renamed_inputs : name => input.deprecated != null ? input.deprecated : input.current != null ? input.current : input.default
  }

  # Each optional function's toggle is create_<function>.
  optional_functions = ["sync-thresholds", "suppress-bouncing-users", "watch-enforcement", "disable-sending"]
  creates            = { for key in local.optional_functions : key => local.inputs["create_${replace(key, "-", "_")}"] }
  # sync-thresholds and watch-enforcement read and act on the whole account: its owner's alone.
  account_functions = ["sync-thresholds", "watch-enforcement"]
  created_functions = { for key, create in local.creates : key => create && (local.owns_account || !contains(local.account_functions, key)) }

  # Where the alarms fire and over which periods: the alarms module sets them, the dashboard draws them.
  alarm_thresholds = {
    send_quota_percent      = var.send_quota_alarm_percent
    bounce_rate_percent     = var.bounce_rate_alarm_percent
    complaint_rate_percent  = var.complaint_rate_alarm_percent
    unregistered_recipients = var.unregistered_recipient_alarm_threshold
    processor_errors        = var.processor_error_alarm_threshold
    dead_letters            = var.dead_letter_alarm_threshold
    queue_age_seconds       = var.queue_age_alarm_threshold_seconds
  }
  alarm_periods = {
    reputation              = var.reputation_alarm_period
    unregistered_recipients = var.unregistered_recipient_alarm_period
    pipeline                = var.pipeline_alarm_period
  }
}

module "account" {
  source = "./modules/account"

  create = local.owns_account
  owner  = var.name
  tags   = var.tags
}

module "notifications" {
  source = "./modules/notifications"

  name                            = var.name
  create_kms_key                  = var.create_kms_key
  kms_key_arn                     = var.kms_key_arn
  kms_key_deletion_window_in_days = var.kms_key_deletion_window_in_days
  subscriptions                   = var.alert_subscriptions
  # Who may publish and encrypt: SES for these sources (modules/ses-events names its set after name),
  # the functions that announce, CloudWatch Logs for the functions' log groups.
  configuration_set_name = var.create_configuration_set ? var.name : null
  identities             = var.identities
  announcer_role_arns    = module.lambdas.announcer_role_arns
  log_group_names        = module.lambdas.planned_log_group_names
  tags                   = var.tags
}

module "ses_events" {
  source = "./modules/ses-events"

  name                     = var.name
  events_topic_arn         = module.notifications.events_topic_arn
  create_configuration_set = var.create_configuration_set
  event_types              = var.configuration_set_event_types
  tls_policy               = var.configuration_set_tls_policy
  identities               = var.identities
}

module "alarms" {
  source = "./modules/alarms"

  name                      = var.name
  warning_topic_arn         = module.notifications.warning_topic_arn
  critical_topic_arn        = module.notifications.critical_topic_arn
  daily_send_quota          = var.daily_send_quota
  thresholds                = local.alarm_thresholds
  periods                   = local.alarm_periods
  published_metrics         = module.lambdas.published_metrics
  pipeline                  = module.lambdas.pipeline
  automation_function_names = module.lambdas.automation_function_names
  create_pipeline_alarms    = var.create_pipeline_alarms
  create_enforcement_alarm  = local.created_functions["watch-enforcement"]
  enforcement_alarm_period  = var.watch_enforcement_alarm_period
  create_account_alarms     = local.owns_account
  configuration_set_name    = module.ses_events.configuration_set_name
  tags                      = var.tags
}

module "lambdas" {
  source = "./modules/lambdas"

  name                  = var.name
  lambda_zip_path       = var.lambda_zip_path
  lambda_s3_package     = var.lambda_s3_package
  role_path             = var.iam_role_path
  permissions_boundary  = var.iam_permissions_boundary_arn
  runtime               = var.lambda_runtime
  memory_size           = var.lambda_memory_size
  timeout               = var.lambda_timeout
  log_level             = var.log_level
  log_retention_in_days = var.log_retention_in_days
  metrics_namespace     = local.metrics_namespace
  kms_key_arn           = module.notifications.kms_key_arn
  events_topic_arn      = module.notifications.events_topic_arn
  warning_topic_arn     = module.notifications.warning_topic_arn
  critical_topic_arn    = module.notifications.critical_topic_arn

  db_secret_arn          = var.db_secret_arn
  db_secret_kms_key_arn  = var.db_secret_kms_key_arn
  database_url           = var.database_url
  users_table            = var.users_table
  users_id_column        = var.users_id_column
  users_email_column     = var.users_email_column
  users_email_lookup     = var.users_email_lookup
  users_validated_column = var.users_validated_column
  subnet_ids             = var.subnet_ids
  security_group_ids     = var.security_group_ids

  event_batch_size                = var.event_batch_size
  event_batching_window_seconds   = var.event_batching_window_seconds
  event_processor_max_concurrency = var.event_processor_max_concurrency
  event_max_receive_count         = var.event_max_receive_count
  dead_letter_redrive_role_arns   = var.dead_letter_redrive_role_arns

  create_functions         = local.created_functions
  sync_thresholds_schedule = local.inputs.sync_thresholds_schedule
  send_count_alarms        = module.alarms.send_count_alarms
  send_count_alarm_arns    = values(module.alarms.send_count_alarm_arns)

  suppress_bouncing_users_schedule                = local.inputs.suppress_bouncing_users_schedule
  suppress_bouncing_users_bounce_threshold        = local.inputs.suppress_bouncing_users_bounce_threshold
  suppress_bouncing_users_window_days             = local.inputs.suppress_bouncing_users_window_days
  suppress_bouncing_users_bounce_types            = local.inputs.suppress_bouncing_users_bounce_types
  suppress_bouncing_users_invalidate_on_complaint = local.inputs.suppress_bouncing_users_invalidate_on_complaint
  sync_suppression_list                           = var.sync_suppression_list

  watch_enforcement_schedule = local.inputs.watch_enforcement_schedule

  disable_sending_alarm_names        = [for alarm in local.inputs.disable_sending_alarms : module.alarms.critical_alarm_names[alarm]]
  disable_sending_configuration_sets = local.inputs.disable_sending_configuration_sets

  tags = var.tags
}

module "dashboard" {
  source = "./modules/dashboard"
  count  = var.create_dashboard ? 1 : 0

  name                    = var.name
  published_metrics       = module.lambdas.published_metrics
  show_quota_usage        = local.creates["sync-thresholds"]
  show_enforcement_status = local.creates["watch-enforcement"]
  thresholds              = local.alarm_thresholds
  periods                 = local.alarm_periods
  pipeline                = module.lambdas.pipeline
}
