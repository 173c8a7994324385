provider "aws" {
  region = var.region
}

resource "aws_ses_email_identity" "sender" {
  email = var.sender_address
}

module "ses_guard" {
  source = "../.."

  name = "ses-guard-complete"
  # Built by `make build` at the repository root.
  lambda_zip_path = "${path.module}/../../dist/ses-guard-lambda.zip"
  tags            = { Project = "ses-reputation-guard", Example = "complete" }

  create_kms_key = true
  identities     = [aws_ses_email_identity.sender.email]

  alert_subscriptions = {
    team-email   = { tier = "warning", protocol = "email", endpoint = var.alert_email }
    oncall-email = { tier = "critical", protocol = "email", endpoint = var.alert_email }
    oncall-sms   = { tier = "critical", protocol = "sms", endpoint = var.alert_phone_number }
  }

  daily_send_quota                       = 50000
  send_quota_alarm_percent               = { warning = 60, critical = 80 }
  bounce_rate_alarm_percent              = { warning = 5, critical = 10 }
  complaint_rate_alarm_percent           = { warning = 0.1, critical = 0.5 }
  unregistered_recipient_alarm_threshold = { warning = 5, critical = 10 }

  db_secret_arn      = var.db_secret_arn
  database_url       = var.database_url
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids

  event_processor_max_concurrency          = 5
  suppress_bouncing_users_bounce_threshold = 5
  suppress_bouncing_users_window_days      = 30
  sync_suppression_list                    = true

  create_disable_sending = true
  disable_sending_alarms = ["unregistered-recipients"]
}
