variable "region" {
  description = "AWS region to deploy to (SES quotas and reputation are per region)."
  type        = string
  default     = "eu-west-1"
}

variable "db_secret_arn" {
  description = "Secrets Manager secret with the application database's credentials (RDS JSON format)."
  type        = string
}
