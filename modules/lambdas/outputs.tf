output "function_names" {
  description = "Names of the functions, keyed process-events, sync-thresholds, suppress-bouncing-users, watch-enforcement, disable-sending (those created)."
  value       = { for key, function in local.created_functions : key => function.function_name }
}

output "automation_function_names" {
  description = "Names of the other functions, keyed like function_names. Read from their arguments, not from the functions: the alarms module's for_each over them must be known in every plan, a targeted destroy's included."
  value       = { for key, arguments in local.function_arguments : key => arguments.function_name if key != local.processor }
}

output "function_arns" {
  description = "ARNs of the functions, keyed like function_names."
  value       = { for key, function in local.created_functions : key => function.arn }
}

output "role_arns" {
  description = "ARNs of the functions' IAM roles, keyed like function_names."
  value       = { for key, role in aws_iam_role.this : key => role.arn }
}

output "log_group_names" {
  description = "Names of the functions' log groups, keyed like function_names."
  value       = { for key, log_group in aws_cloudwatch_log_group.this : key => log_group.name }
}

output "planned_log_group_names" {
  description = "Names the functions' log groups will have, known before they exist (for the KMS key policy, which must allow them first)."
  value       = values(local.log_group_names)
}

output "announcer_role_arns" {
  description = "ARNs of the roles that publish to each alert topic, keyed warning (sync-thresholds, watch-enforcement) and critical (watch-enforcement, disable-sending): the only principals the topics' policies let publish besides the alarms."
  value = {
    for tier in ["warning", "critical"] : tier => [for key, role in aws_iam_role.this : role.arn if contains(local.functions[key].announces_to, tier)]
  }
}

output "pipeline" {
  description = "What the pipeline alarms and the dashboard watch: processor_function_name, queue_name (the SES event queue), dead_letter_queue_name (where events land after failing event_max_receive_count times)."
  value = {
    processor_function_name = aws_lambda_function.event_processor.function_name
    queue_name              = aws_sqs_queue.events.name
    dead_letter_queue_name  = aws_sqs_queue.dead_letters.name
  }
}

output "queue_arn" {
  description = "ARN of the SES event queue."
  value       = aws_sqs_queue.events.arn
}

output "queue_url" {
  description = "URL of the SES event queue."
  value       = aws_sqs_queue.events.id
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letters.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dead_letters.id
}

output "event_source_mapping_id" {
  description = "UUID of the event source mapping that feeds the queue to the processor."
  value       = aws_cloudformation_stack.event_source_mapping.outputs["EventSourceMappingId"]
}

output "schedule_rule_names" {
  description = "Names of the EventBridge rules that run the scheduled functions, keyed like function_names."
  value       = { for key, rule in aws_cloudwatch_event_rule.schedule : key => rule.name }
}

output "published_metrics" {
  description = "Where the functions publish their metrics: namespace (the processor's), quota_namespace (sync-thresholds' SendQuotaUsedPercent), enforcement_namespace (watch-enforcement's EnforcementStatus and SendingDisabledByOthers), and service, the value of their only dimension (POWERTOOLS_SERVICE_NAME): what the alarms and the dashboard watch."
  value = {
    namespace             = var.metrics_namespace
    quota_namespace       = local.quota_metrics_namespace
    enforcement_namespace = local.enforcement_metrics_namespace
    service               = var.name
  }
}
