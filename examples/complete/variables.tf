variable "region" {
  description = "AWS region to deploy to (SES quotas and reputation are per region)."
  type        = string
  default     = "eu-west-1"
}

variable "sender_address" {
  description = "Address the application sends from; it becomes an SES email identity (AWS mails it a verification link) whose notifications the module wires."
  type        = string
}

variable "alert_email" {
  description = "Address that receives warning and critical alerts (confirm the subscription mail first)."
  type        = string
}

variable "alert_phone_number" {
  description = "Phone number in E.164 form (+4412345678) that receives critical alerts by SMS."
  type        = string
}

variable "db_secret_arn" {
  description = "Secrets Manager secret with the application database's credentials (RDS JSON format). Set this or database_url."
  type        = string
  default     = null
}

variable "database_url" {
  description = "SQLAlchemy URL of the application database, for a database outside AWS. Set this or db_secret_arn."
  type        = string
  default     = null
  sensitive   = true
}

variable "subnet_ids" {
  description = "Subnets for the functions that use the database, if it is only reachable inside a VPC."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups for those functions; they must allow reaching the database."
  type        = list(string)
  default     = []
}
