locals {
  schedules = { for key, spec in local.functions : key => spec.schedule if spec.schedule != null }
}

resource "aws_cloudwatch_event_rule" "schedule" {
  for_each = local.schedules

  name                = "${var.name}-${each.key}"
  description         = "Runs ${var.name}-${each.key}"
  schedule_expression = each.value
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = local.schedules

  rule = aws_cloudwatch_event_rule.schedule[each.key].name
  arn  = aws_lambda_function.automation[each.key].arn
}

resource "aws_lambda_permission" "schedule" {
  for_each = local.schedules

  statement_id  = "AllowScheduleInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.automation[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[each.key].arn
}

resource "aws_lambda_permission" "breaker" {
  count = var.create_functions["disable-sending"] ? 1 : 0

  statement_id  = "AllowCriticalTopicInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.automation["disable-sending"].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = var.critical_topic_arn
}

resource "aws_sns_topic_subscription" "breaker" {
  count = var.create_functions["disable-sending"] ? 1 : 0

  topic_arn = var.critical_topic_arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.automation["disable-sending"].arn

  depends_on = [aws_lambda_permission.breaker]
}
