# What exists once per account and region and is not an alarm or a function: the owner marker.
# Alarms, sync-thresholds and disable-sending stay in their concern's module (alarms, lambdas), switched by
# the root's account_resources, so a single-application root keeps every resource address it had.

resource "aws_ssm_parameter" "owner" {
  count = var.create ? 1 : 0

  # One fixed name per account and region: a second owner's apply fails here with
  # ParameterAlreadyExists instead of silently taking over the identities' notifications.
  name        = var.marker_parameter_name
  description = "The ses-reputation-guard instance that owns this account's SES notifications, account alarms, quota sync and breaker. Any other instance must use account_resources = \"none\"."
  type        = "String"
  value       = var.owner
  tags        = var.tags

  #checkov:skip=CKV2_AWS_34: the value is the owning instance's name, not a secret.
}
