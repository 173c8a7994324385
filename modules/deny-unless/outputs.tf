output "json" {
  description = "The policy document holding the Deny statements, for source_policy_documents or a resource policy."
  value       = data.aws_iam_policy_document.this.json
}
