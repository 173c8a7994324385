terraform {
  required_version = ">= 1.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # CI applies 3.39.0 (the one available offline) and checks every name the module uses against the
      # 6.x schema (tests/terraform/test_provider_schema.py); 7.x is unchecked. The default runtime,
      # python3.12, needs a provider from late 2023 on (5.x): see README, Versions.
      version = ">= 3.39, < 7.0"
    }
  }
}
