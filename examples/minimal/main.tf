provider "aws" {
  region = var.region
}

module "ses_guard" {
  source = "../.."

  name = "ses-guard"
  # Built by `make build` at the repository root.
  lambda_zip_path = "${path.module}/../../dist/ses-guard-lambda.zip"
  db_secret_arn   = var.db_secret_arn
}
