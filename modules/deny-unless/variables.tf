variable "statements" {
  description = "Deny statements by Sid: each denies its actions on its resources to every principal (\"*\") for whom all its conditions hold."
  type = map(object({
    actions   = list(string)
    resources = list(string)
    conditions = list(object({
      test     = string
      variable = string
      values   = list(string)
    }))
  }))
}
