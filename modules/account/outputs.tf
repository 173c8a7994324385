output "owner" {
  description = "Name of the owning instance, or null when create is false."
  value       = var.create ? var.owner : null
}

output "marker_parameter_name" {
  description = "Name of the SSM parameter marking the owner, or null when create is false."
  value       = var.create ? aws_ssm_parameter.owner[0].name : null
}
