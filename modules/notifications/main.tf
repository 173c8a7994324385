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

  # The key policy names the events topic, which the key encrypts: its ARN is built, not read, to avoid a cycle.
  events_topic_name = "${var.name}-ses-events"
  events_topic_arn  = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.events_topic_name}"

  # What SES publishes for (aws:SourceArn): the configuration set's events and the identities' notifications.
  ses_source_arns = concat(
    var.configuration_set_name == null ? [] : ["arn:${local.partition}:ses:${local.region}:${local.account_id}:configuration-set/${var.configuration_set_name}"],
    [for identity in var.identities : "arn:${local.partition}:ses:${local.region}:${local.account_id}:identity/${identity}"],
  )
  # Every alarm of the module is named <name>-...; the alarms depend on the topics, so no list of them.
  alarm_source_arn = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-*"
}

resource "aws_sns_topic" "events" {
  name              = local.events_topic_name
  kms_master_key_id = local.kms_key_arn
  tags              = var.tags

  # SES and CloudWatch cannot publish to a topic under the AWS managed key alias/aws/sns, so only a
  # customer-managed key works here: created by default, unencrypted only when the caller opts out.
  #checkov:skip=CKV_AWS_26: encrypted by default (create_kms_key) or with kms_key_arn; unencrypted only by an explicit opt-out, as the AWS managed key would block SES.
}

resource "aws_sns_topic" "alerts" {
  for_each = local.alert_tiers

  name              = "${var.name}-alerts-${each.key}"
  display_name      = "SES ${each.key}"
  kms_master_key_id = local.kms_key_arn
  tags              = var.tags

  #checkov:skip=CKV_AWS_26: encrypted by default (create_kms_key) or with kms_key_arn; unencrypted only by an explicit opt-out, as the AWS managed key would block CloudWatch.
}

# What SES of this account may do for the configuration set and the identities, and only for them: publish
# their events to the events topic, and encrypt them with the key. Without a configuration set or identities
# nothing in SES publishes, and neither statement exists. The topic's ARN is the built one: the key policy
# reads this too, and the topic depends on the key.
data "aws_iam_policy_document" "ses_publishes" {
  for_each = length(local.ses_source_arns) > 0 ? {
    events_topic = { sid = "SESOfThisAccountPublishes", actions = ["SNS:Publish"], resources = [local.events_topic_arn] }
    # In a key policy "*" is the key itself.
    kms = { sid = "SESEncryptsTheGuardsEvents", actions = ["kms:GenerateDataKey*", "kms:Decrypt"], resources = ["*"] }
  } : {}

  statement {
    sid       = each.value.sid
    actions   = each.value.actions
    resources = each.value.resources

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
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = local.ses_source_arns
    }
  }
}

# An Allow alone lets in any principal of the account whose own IAM policy allows sns:Publish on "*"; these
# Denies win over any identity policy. On each topic every principal that is no AWS service is refused but the
# module's functions that announce there (none on the events topic), and every AWS service but one publishing
# for the topic's own sources: SES for the configuration set and the identities, CloudWatch for the module's
# alarms (ArnNotEquals and ArnNotLike also hold when a service sends no aws:SourceArn).
locals {
  publish_denials = merge(
    {
      events = {
        topic_arn = aws_sns_topic.events.arn
        principals = {
          sid    = "NoPrincipalOfAnAccountPublishes"
          unless = null
        }
        services = {
          sid    = "NoServiceButSESForTheGuardsSourcesPublishes"
          unless = length(local.ses_source_arns) > 0 ? { test = "ArnNotEquals", variable = "aws:SourceArn", values = local.ses_source_arns } : null
        }
      }
    },
    {
      for tier in local.alert_tiers : tier => {
        topic_arn = aws_sns_topic.alerts[tier].arn
        principals = {
          sid    = "NoPrincipalButTheGuardsFunctionsPublishes"
          unless = length(var.announcer_role_arns[tier]) > 0 ? { test = "ArnNotEquals", variable = "aws:PrincipalArn", values = var.announcer_role_arns[tier] } : null
        }
        services = {
          sid    = "NoServiceButTheGuardsAlarmsPublishes"
          unless = { test = "ArnNotLike", variable = "aws:SourceArn", values = [local.alarm_source_arn] }
        }
      }
    },
  )
}

module "publish_denials" {
  source   = "../deny-unless"
  for_each = local.publish_denials

  # Keyed by the value of aws:PrincipalIsAWSService each statement applies to.
  statements = { for applies_to, statement in { "false" = each.value.principals, "true" = each.value.services } : statement.sid => {
    actions   = ["SNS:Publish"]
    resources = [each.value.topic_arn]
    conditions = concat(
      [{ test = "Bool", variable = "aws:PrincipalIsAWSService", values = [applies_to] }],
      statement.unless == null ? [] : [statement.unless],
    )
  } }
}

data "aws_iam_policy_document" "events_topic" {
  source_policy_documents = concat(
    [for document, policy in data.aws_iam_policy_document.ses_publishes : policy.json if document == "events_topic"],
    [module.publish_denials["events"].json],
  )
}

resource "aws_sns_topic_policy" "events" {
  arn    = aws_sns_topic.events.arn
  policy = data.aws_iam_policy_document.events_topic.json
}

data "aws_iam_policy_document" "alerts_topic" {
  for_each = local.alert_tiers

  source_policy_documents = [module.publish_denials[each.key].json]

  statement {
    sid       = "TheGuardsAlarmsPublish"
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
      values   = [local.alarm_source_arn]
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

  source_policy_documents = [for document, policy in data.aws_iam_policy_document.ses_publishes : policy.json if document == "kms"]

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
    sid       = "CloudWatchOfThisAccountEncryptsAlarms"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # SNS delivers the events topic to the encrypted queue.
  statement {
    sid       = "SNSDeliversTheEventsTopic"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.events_topic_arn]
    }
  }

  dynamic "statement" {
    for_each = length(var.log_group_names) > 0 ? ["logs"] : []

    content {
      sid       = "CloudWatchLogsEncryptsTheGuardsLogGroups"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "ArnEquals"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = [for group in var.log_group_names : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${group}"]
      }
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
