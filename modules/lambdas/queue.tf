locals {
  # SQS's longest retention, 14 days: time to notice an outage and redrive before events are lost.
  message_retention_seconds = 14 * 24 * 60 * 60
}

resource "aws_sqs_queue" "dead_letters" {
  name                      = "${var.name}-ses-events-dlq"
  message_retention_seconds = local.message_retention_seconds
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags

  #checkov:skip=CKV_AWS_27: encrypted with kms_key_arn when given; SNS cannot deliver to queues under the AWS managed key, and provider 3.39 has no SQS-managed encryption.
}

resource "aws_sqs_queue" "events" {
  name = "${var.name}-ses-events"
  # Lambda's advice for SQS sources: six times the function timeout, so retries of a slow batch
  # do not overlap with the batch still running.
  visibility_timeout_seconds = 6 * var.timeout
  message_retention_seconds  = local.message_retention_seconds
  kms_master_key_id          = var.kms_key_arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters.arn
    maxReceiveCount     = var.event_max_receive_count
  })
  tags = var.tags

  #checkov:skip=CKV_AWS_27: encrypted with kms_key_arn when given; SNS cannot deliver to queues under the AWS managed key, and provider 3.39 has no SQS-managed encryption.
}

data "aws_iam_policy_document" "events_queue" {
  source_policy_documents = [module.queue_denials.json]

  statement {
    sid       = "TheEventsTopicDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.events_topic_arn]
    }
  }
}

# Whoever can send here can forge SES events. The dead-letter queue needs no such statement: SQS itself moves
# failed events there. Moving them back (StartMessageMoveTask) sends as the principal that starts it, so only
# dead_letter_redrive_role_arns may.
module "queue_denials" {
  source = "../deny-unless"

  statements = {
    NoOneButTheEventsTopicSends = {
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.events.arn]
      conditions = concat(
        [{ test = "ArnNotEquals", variable = "aws:SourceArn", values = [var.events_topic_arn] }],
        length(var.dead_letter_redrive_role_arns) > 0 ? [{ test = "ArnNotEquals", variable = "aws:PrincipalArn", values = var.dead_letter_redrive_role_arns }] : [],
      )
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy    = data.aws_iam_policy_document.events_queue.json
}

resource "aws_sns_topic_subscription" "events_queue" {
  topic_arn = var.events_topic_arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.events.arn
  # The processor reads the SNS envelope (its MessageId identifies the event), so no raw delivery.
  raw_message_delivery = false

  depends_on = [aws_sqs_queue_policy.events]
}

# The queue feeds the processor through a one-resource CloudFormation stack because
# aws_lambda_event_source_mapping in hashicorp/aws 3.39, the oldest provider this module supports,
# has neither function_response_types (3.43) nor scaling_config (4.x). Without
# ReportBatchItemFailures one bad event would make Lambda retry its whole batch.
resource "aws_cloudformation_stack" "event_source_mapping" {
  name = "${var.name}-ses-events-source"
  template_body = jsonencode({
    Description = "Feeds the ${var.name} SES event queue to its processor"
    Resources = {
      EventSourceMapping = {
        Type = "AWS::Lambda::EventSourceMapping"
        Properties = {
          EventSourceArn                 = aws_sqs_queue.events.arn
          FunctionName                   = aws_lambda_function.event_processor.arn
          BatchSize                      = var.event_batch_size
          MaximumBatchingWindowInSeconds = var.event_batching_window_seconds
          FunctionResponseTypes          = ["ReportBatchItemFailures"]
          ScalingConfig                  = { MaximumConcurrency = var.event_processor_max_concurrency }
        }
      }
    }
    Outputs = {
      EventSourceMappingId = { Value = { Ref = "EventSourceMapping" } }
    }
  })
  tags = var.tags

  # Lambda checks at creation that the function's role may read the queue.
  depends_on = [aws_iam_role_policy.this]

  #checkov:skip=CKV_AWS_124: the stack holds a single event source mapping that Terraform manages; its events need no SNS notifications.
}
