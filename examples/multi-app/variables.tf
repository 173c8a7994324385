variable "region" {
  description = "AWS region to deploy to (SES quotas and reputation are per region)."
  type        = string
  default     = "eu-west-1"
}

variable "sender_address" {
  description = "Address both applications send from; it becomes an SES email identity whose notifications the shop (the account owner) records."
  type        = string
}

variable "shop_database_url" {
  description = "SQLAlchemy URL of the shop's database (a db_secret_arn works too)."
  type        = string
  sensitive   = true
}

variable "newsletter_database_url" {
  description = "SQLAlchemy URL of the newsletter's database (a db_secret_arn works too)."
  type        = string
  sensitive   = true
}
