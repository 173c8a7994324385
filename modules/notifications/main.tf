data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # aws provider 6 deprecates aws_region's name and id for region, which 3.39 lacks; both have the
  # EC2 endpoint, ec2.<region>.<DNS suffix>.
  region = split(".", data.aws_region.current.endpoint)[1]

  kms_key_arn = var.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  alert_tiers = toset(["warning", "critical"])
}

resource "aws_sns_topic" "events" {
  name              = "${var.name}-ses-events"
  kms_master_key_id = local.kms_key_arn
  tags              = var.tags

  # Encryption is opt-in (create_kms_key / kms_key_arn): SES and CloudWatch cannot publish to a
  # topic under the AWS managed key alias/aws/sns, so only a customer-managed key works here.
  #checkov:skip=CKV_AWS_26: encrypted when create_kms_key or kms_key_arn is set; the AWS managed key would block SES.
}

resource "aws_sns_topic" "alerts" {
  for_each = local.alert_tiers

  name              = "${var.name}-alerts-${each.key}"
  display_name      = "SES ${each.key}"
  kms_master_key_id = local.kms_key_arn
  tags              = var.tags

  #checkov:skip=CKV_AWS_26: encrypted when create_kms_key or kms_key_arn is set; the AWS managed key would block CloudWatch.
}

data "aws_iam_policy_document" "events_topic" {
  statement {
    sid       = "SESOfThisAccountPublishes"
    actions   = ["SNS:Publish"]
    resources = [aws_sns_topic.events.arn]

    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ses:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_sns_topic_policy" "events" {
  arn    = aws_sns_topic.events.arn
  policy = data.aws_iam_policy_document.events_topic.json
}

data "aws_iam_policy_document" "alerts_topic" {
  for_each = local.alert_tiers

  statement {
    sid       = "CloudWatchAlarmsOfThisAccountPublish"
    actions   = ["SNS:Publish"]
    resources = [aws_sns_topic.alerts[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  for_each = local.alert_tiers

  arn    = aws_sns_topic.alerts[each.key].arn
  policy = data.aws_iam_policy_document.alerts_topic[each.key].json
}

resource "aws_sns_topic_subscription" "alerts" {
  for_each = var.subscriptions

  topic_arn = aws_sns_topic.alerts[each.value.tier].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

data "aws_iam_policy_document" "kms" {
  count = var.create_kms_key ? 1 : 0

  # In a key policy "*" is the key itself, and the account must be able to administer it.
  #checkov:skip=CKV_AWS_109: a key policy's "*" resource is this key; the root statement is what lets IAM administer it.
  #checkov:skip=CKV_AWS_111: a key policy's "*" resource is this key; service principals are limited by aws:SourceAccount.
  #checkov:skip=CKV_AWS_356: a key policy's "*" resource is this key, not every resource.

  # Without this statement nobody, not even the account's administrators, could manage the key.
  statement {
    sid       = "AccountAdministersTheKeyThroughIAM"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "ServicesOfThisAccountEncryptMessages"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type = "Service"
      # SES and CloudWatch publish to the topics; SNS delivers them to encrypted SQS queues.
      identifiers = ["ses.amazonaws.com", "cloudwatch.amazonaws.com", "sns.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = var.create_kms_key ? 1 : 0

  description             = "Encrypts the ${var.name} SES notification and alert topics, queues and logs"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.kms[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}
