data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # aws provider 6 deprecates aws_region's name and id for region, which 3.39 lacks; both have the
  # EC2 endpoint, ec2.<region>.<DNS suffix>.
  region = split(".", data.aws_region.current.endpoint)[1]

  # One package for every function: a local zip (hashed, so a rebuild updates the functions) or an S3
  # object (not hashed: a new key or object version updates them).
  package_hash = var.lambda_zip_path == null ? null : filebase64sha256(var.lambda_zip_path)
  s3_package   = var.lambda_s3_package == null ? { bucket = null, key = null, object_version = null } : var.lambda_s3_package
  in_vpc       = length(var.subnet_ids) > 0

  # sync-thresholds' side metric stays out of the namespace the alarms watch, so that its role cannot write
  # the guard's evidence (QUOTA_METRICS_NAMESPACE; ses_guard.settings derives the same by default).
  quota_metrics_namespace = "${var.metrics_namespace}/Quota"
  # watch-enforcement's status metrics likewise (ENFORCEMENT_METRICS_NAMESPACE).
  enforcement_metrics_namespace = "${var.metrics_namespace}/Enforcement"

  # The functions, keyed by their names (each deploys as <name>-<key>; its handler is the key in snake case).
  # schedule: the EventBridge expression that runs it, if any; announces_to: the alert topics it publishes to.
  processor = "process-events"
  functions = {
    for key, spec in {
      (local.processor) = {
        description  = "Records SES events from the queue in the database and counts mail to unregistered recipients"
        schedule     = null
        announces_to = []
      }
      sync-thresholds = {
        description  = "Keeps the send-count alarm thresholds at their share of the SES sending quota"
        schedule     = var.sync_thresholds_schedule
        announces_to = ["warning"]
      }
      suppress-bouncing-users = {
        description  = "Stops mailing users whose addresses keep bouncing or who complained"
        schedule     = var.suppress_bouncing_users_schedule
        announces_to = []
      }
      watch-enforcement = {
        description  = "Watches AWS's verdict on the SES account (GetAccount) and announces every change"
        schedule     = var.watch_enforcement_schedule
        announces_to = ["warning", "critical"]
      }
      disable-sending = {
        description  = "Disables SES sending when an allowlisted critical alarm fires"
        schedule     = null
        announces_to = ["critical"]
      }
    } : key => merge(spec, { handler = "ses_guard.handlers.${replace(key, "-", "_")}" }) if key == local.processor || lookup(var.create_functions, key, false)
  }

  # Known at plan, so that the KMS key policy can name the log groups before they exist.
  log_group_names = { for key in keys(local.functions) : key => "/aws/lambda/${var.name}-${key}" }

  # Each function's own variables, besides the common and the database ones. Apart from local.functions: they
  # name the topics and alarms, whose policies name the log groups and roles that local.functions decides.
  own_environments = {
    (local.processor) = {
      EVENTS_TOPIC_ARN = var.events_topic_arn
    }
    sync-thresholds = {
      SEND_COUNT_ALARMS       = jsonencode(var.send_count_alarms)
      WARNING_TOPIC_ARN       = var.warning_topic_arn
      QUOTA_METRICS_NAMESPACE = local.quota_metrics_namespace
    }
    suppress-bouncing-users = {
      HYGIENE_BOUNCE_THRESHOLD        = tostring(var.suppress_bouncing_users_bounce_threshold)
      HYGIENE_WINDOW_DAYS             = tostring(var.suppress_bouncing_users_window_days)
      HYGIENE_BOUNCE_TYPES            = join(",", var.suppress_bouncing_users_bounce_types)
      HYGIENE_INVALIDATE_ON_COMPLAINT = tostring(var.suppress_bouncing_users_invalidate_on_complaint)
      SYNC_SUPPRESSION_LIST           = tostring(var.sync_suppression_list)
    }
    watch-enforcement = {
      WARNING_TOPIC_ARN             = var.warning_topic_arn
      CRITICAL_TOPIC_ARN            = var.critical_topic_arn
      ENFORCEMENT_METRICS_NAMESPACE = local.enforcement_metrics_namespace
    }
    disable-sending = {
      BREAKER_ALARM_NAMES        = jsonencode(var.disable_sending_alarm_names)
      BREAKER_CONFIGURATION_SETS = jsonencode(var.disable_sending_configuration_sets)
      CRITICAL_TOPIC_ARN         = var.critical_topic_arn
    }
  }

  common_environment = {
    POWERTOOLS_SERVICE_NAME      = var.name
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  database_environment = merge(
    var.database_url == null ? {} : { DATABASE_URL = var.database_url },
    var.db_secret_arn == null ? {} : { DB_SECRET_ARN = var.db_secret_arn },
    {
      USERS_TABLE            = var.users_table
      USERS_ID_COLUMN        = var.users_id_column
      USERS_EMAIL_COLUMN     = var.users_email_column
      USERS_EMAIL_LOOKUP     = var.users_email_lookup
      USERS_VALIDATED_COLUMN = var.users_validated_column
    },
  )

  # Apart from local.function_arguments, which for_each reads: database_url is sensitive, and for_each refuses
  # sensitive values.
  environments = {
    for key in keys(local.functions) : key => merge(local.common_environment, local.database_environment, local.own_environments[key])
  }

  # Every argument of every function but its environment, in one place: the aws_lambda_function resources only read it.
  function_arguments = {
    for key, spec in local.functions : key => {
      function_name     = "${var.name}-${key}"
      description       = spec.description
      role              = aws_iam_role.this[key].arn
      handler           = spec.handler
      runtime           = var.runtime
      filename          = var.lambda_zip_path
      source_code_hash  = local.package_hash
      s3_bucket         = local.s3_package.bucket
      s3_key            = local.s3_package.key
      s3_object_version = local.s3_package.object_version
      memory_size       = var.memory_size
      timeout           = var.timeout
      kms_key_arn       = var.kms_key_arn
      tags              = var.tags
      vpc_config        = local.in_vpc ? [{ subnet_ids = var.subnet_ids, security_group_ids = var.security_group_ids }] : []
    }
  }

  created_functions = merge({ (local.processor) = aws_lambda_function.event_processor }, aws_lambda_function.automation)
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  name              = local.log_group_names[each.key]
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags

  #checkov:skip=CKV_AWS_158: encrypted with kms_key_arn when given, else with CloudWatch Logs' own key.
}

# Two resources for one kind of thing: the processor's address (event_processor) predates the for_each, and
# Terraform 1.0 cannot move a resource to another address (no moved blocks), so merging them would destroy and
# recreate the processor on upgrade. Both only read local.function_arguments.
# The aws provider creates functions from local zips one at a time and waits about 5 s after each,
# so the processor goes first: its event source mapping, the slowest resource here, then gets
# going while the others are still being created.
resource "aws_lambda_function" "event_processor" {
  function_name     = local.function_arguments[local.processor].function_name
  description       = local.function_arguments[local.processor].description
  role              = local.function_arguments[local.processor].role
  handler           = local.function_arguments[local.processor].handler
  runtime           = local.function_arguments[local.processor].runtime
  filename          = local.function_arguments[local.processor].filename
  source_code_hash  = local.function_arguments[local.processor].source_code_hash
  s3_bucket         = local.function_arguments[local.processor].s3_bucket
  s3_key            = local.function_arguments[local.processor].s3_key
  s3_object_version = local.function_arguments[local.processor].s3_object_version
  memory_size       = local.function_arguments[local.processor].memory_size
  timeout           = local.function_arguments[local.processor].timeout
  kms_key_arn       = local.function_arguments[local.processor].kms_key_arn
  tags              = local.function_arguments[local.processor].tags

  environment {
    variables = local.environments[local.processor]
  }

  dynamic "vpc_config" {
    for_each = local.function_arguments[local.processor].vpc_config

    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tracing_config {
    # No X-Ray sampling of its own: Lambda traces only what an upstream service sampled. A literal, which
    # checkov reads (CKV_AWS_50).
    mode = "PassThrough"
  }

  # The log group must exist first, or Lambda creates one without retention or encryption.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy_attachment.vpc_access]

  #checkov:skip=CKV_AWS_116: failed events go to the queue's dead-letter queue, which is alarmed on.
  #checkov:skip=CKV_AWS_115: concurrency is bounded by the event source mapping's maximum concurrency, which unlike reserved concurrency does not throttle messages into the dead-letter queue.
  #checkov:skip=CKV_AWS_117: VPC placement is optional (subnet_ids): only a database reachable only inside a VPC needs it.
  #checkov:skip=CKV_AWS_272: code signing needs an AWS Signer profile the caller's pipeline would own; the package's hash is pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173: the environment is encrypted with kms_key_arn when given, else with Lambda's AWS managed key.
}

resource "aws_lambda_function" "automation" {
  for_each = { for key, arguments in local.function_arguments : key => arguments if key != local.processor }

  function_name     = each.value.function_name
  description       = each.value.description
  role              = each.value.role
  handler           = each.value.handler
  runtime           = each.value.runtime
  filename          = each.value.filename
  source_code_hash  = each.value.source_code_hash
  s3_bucket         = each.value.s3_bucket
  s3_key            = each.value.s3_key
  s3_object_version = each.value.s3_object_version
  memory_size       = each.value.memory_size
  timeout           = each.value.timeout
  kms_key_arn       = each.value.kms_key_arn
  tags              = each.value.tags

  environment {
    variables = local.environments[each.key]
  }

  dynamic "vpc_config" {
    for_each = each.value.vpc_config

    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tracing_config {
    # No X-Ray sampling of its own: Lambda traces only what an upstream service sampled. A literal, which
    # checkov reads (CKV_AWS_50).
    mode = "PassThrough"
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy_attachment.vpc_access, aws_lambda_function.event_processor]

  #checkov:skip=CKV_AWS_116: a failed scheduled run is redone by the next one, and every failure raises the automation-errors alarm (a failed disable-sending on the critical topic), whose runbook says what to do by hand.
  #checkov:skip=CKV_AWS_115: they run once per schedule or alarm; reserving concurrency would take it from the account's pool (new accounts have none to spare).
  #checkov:skip=CKV_AWS_117: VPC placement is optional (subnet_ids): only a database reachable only inside a VPC needs it.
  #checkov:skip=CKV_AWS_272: code signing needs an AWS Signer profile the caller's pipeline would own; the package's hash is pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173: the environment is encrypted with kms_key_arn when given, else with Lambda's AWS managed key.
}
