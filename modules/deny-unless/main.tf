# A resource policy's Allow alone lets in any principal of the account whose own IAM policy allows the action
# on "*"; an explicit Deny wins over any identity policy. Every such Deny of the module is this one shape: all
# principals, refused unless one of the conditions fails to hold (ArnNotEquals and ArnNotLike also hold when the
# request carries no such key).
data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = var.statements

    content {
      sid       = statement.key
      effect    = "Deny"
      actions   = statement.value.actions
      resources = statement.value.resources

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}
