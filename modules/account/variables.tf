variable "create" {
  description = "Create the owner marker: true in exactly one instance per account and region."
  type        = bool
  default     = true
}

variable "owner" {
  description = "Name of the instance that owns the account part (the marker's value)."
  type        = string
}

variable "marker_parameter_name" {
  description = "Name of the SSM parameter marking the owner. Fixed, so that two owners in one account and region collide."
  type        = string
  default     = "/ses-reputation-guard/account-owner"
}

variable "tags" {
  description = "Tags for the marker."
  type        = map(string)
  default     = {}
}
