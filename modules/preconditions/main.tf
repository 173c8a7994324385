# Rules that read several inputs together, for Terraform 1.0, which has neither cross-variable validation
# nor preconditions. The root module passes the facts each rule needs (variables.tf); a failed rule fails
# the plan with its own message. This module creates nothing.
