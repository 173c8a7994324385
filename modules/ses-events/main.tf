locals {
  # SES publishes identity notifications of these types; the processor needs all three.
  identity_notifications = {
    for pair in setproduct(var.identities, ["Bounce", "Complaint", "Delivery"]) :
    "${pair[0]}/${pair[1]}" => { identity = pair[0], type = pair[1] }
  }
}

resource "aws_ses_configuration_set" "this" {
  count = var.create_configuration_set ? 1 : 0

  name                       = var.name
  reputation_metrics_enabled = true
  sending_enabled            = true

  delivery_options {
    tls_policy = var.tls_policy
  }

  # disable-sending may pause this configuration set; an apply must not quietly resume sending.
  lifecycle {
    ignore_changes = [sending_enabled]
  }

  #checkov:skip=CKV_AWS_365: the TLS policy is the caller's choice (tls_policy); Require drops mail to servers without STARTTLS.
}

resource "aws_ses_event_destination" "this" {
  count = var.create_configuration_set ? 1 : 0

  name                   = "${var.name}-sns"
  configuration_set_name = aws_ses_configuration_set.this[0].name
  enabled                = true
  matching_types         = var.event_types

  sns_destination {
    topic_arn = var.events_topic_arn
  }
}

resource "aws_ses_identity_notification_topic" "this" {
  for_each = local.identity_notifications

  identity          = each.value.identity
  notification_type = each.value.type
  topic_arn         = var.events_topic_arn
  # The subject and source IP the processor logs are only in the original headers.
  include_original_headers = true
}
