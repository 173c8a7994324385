data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  # As in the other modules: aws provider 6 deprecates aws_region's name, which 3.39 lacks; the EC2 endpoint
  # (ec2.<region>.<DNS suffix>) carries the region in both.
  region = split(".", data.aws_region.current.endpoint)[1]
  console_host = lookup(
    { aws-cn = "console.amazonaws.cn", aws-us-gov = "console.amazonaws-us-gov.com" },
    data.aws_partition.current.partition,
    "console.aws.amazon.com",
  )
  service = ["service", var.published_metrics.service]
  # sync-thresholds and watch-enforcement publish hourly by default (their schedules): one point an hour.
  hourly = 60 * 60
  # Two widgets a row on CloudWatch's 24-column grid, each 6 rows high.
  widget_width  = 12
  widget_height = 6

  # Each widget shows metrics the module alarms on or the functions publish, with the same namespace and
  # dimensions (tests/terraform/test_dashboard.py checks it), and the alarms' lines where there are some.
  widgets = concat(
    var.show_quota_usage ? [{
      title       = "Daily send quota used (%), send-count alarm lines"
      metrics     = [[var.published_metrics.quota_namespace, "SendQuotaUsedPercent", local.service[0], local.service[1], { stat = "Maximum" }]]
      period      = local.hourly
      annotations = var.thresholds.send_quota_percent
    }] : [],
    [
      {
        title       = "Bounce rate (%)"
        metrics     = [[{ expression = "100 * bounce", label = "Bounce rate (%)", id = "percent" }], ["AWS/SES", "Reputation.BounceRate", { id = "bounce", visible = false, stat = "Average" }]]
        period      = var.periods.reputation
        annotations = var.thresholds.bounce_rate_percent
      },
      {
        title       = "Complaint rate (%)"
        metrics     = [[{ expression = "100 * complaint", label = "Complaint rate (%)", id = "percent" }], ["AWS/SES", "Reputation.ComplaintRate", { id = "complaint", visible = false, stat = "Average" }]]
        period      = var.periods.reputation
        annotations = var.thresholds.complaint_rate_percent
      },
      {
        title       = "Mail to addresses that are not users (EmailNotRegisteredCount)"
        metrics     = [[var.published_metrics.namespace, "EmailNotRegisteredCount", local.service[0], local.service[1], { stat = "Sum" }]]
        period      = var.periods.unregistered_recipients
        annotations = var.thresholds.unregistered_recipients
      },
      {
        title = "Pipeline: oldest waiting event (s), dead letters, processor errors"
        metrics = [
          ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", var.pipeline.queue_name, { stat = "Maximum" }],
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.pipeline.dead_letter_queue_name, { stat = "Maximum", label = "Dead letters" }],
          ["AWS/Lambda", "Errors", "FunctionName", var.pipeline.processor_function_name, { stat = "Sum", label = "Processor errors" }],
        ]
        period      = var.periods.pipeline
        annotations = null
      },
    ],
    var.show_enforcement_status ? [{
      title = "AWS's verdict: EnforcementStatus (0 HEALTHY, 1 PROBATION, 2 SHUTDOWN), sending disabled by others"
      metrics = [
        [var.published_metrics.enforcement_namespace, "EnforcementStatus", local.service[0], local.service[1], { stat = "Maximum" }],
        [var.published_metrics.enforcement_namespace, "SendingDisabledByOthers", local.service[0], local.service[1], { stat = "Maximum" }],
      ]
      period      = local.hourly
      annotations = null
    }] : [],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      for index, widget in local.widgets : {
        type   = "metric"
        x      = local.widget_width * (index % 2)
        y      = local.widget_height * floor(index / 2)
        width  = local.widget_width
        height = local.widget_height
        properties = merge(
          {
            title   = widget.title
            region  = local.region
            view    = "timeSeries"
            stacked = false
            metrics = widget.metrics
            period  = widget.period
          },
          widget.annotations == null ? {} : {
            annotations = {
              horizontal = [
                { label = "warning", value = widget.annotations.warning, color = "#ff7f0e" },
                { label = "critical", value = widget.annotations.critical, color = "#d62728" },
              ]
            }
          },
        )
      }
    ]
  })
}
