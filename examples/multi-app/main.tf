provider "aws" {
  region = var.region
}

# One sending identity shared by both applications.
resource "aws_ses_email_identity" "sender" {
  email = var.sender_address
}

# The account owner: the account part (the identity's notifications, the account-wide alarms,
# sync-thresholds, disable-sending, the owner marker) plus its own application, the shop. Mail of the shared
# identity that names no configuration set (the leaked-credential path) is recorded in the shop's
# database, once.
module "shop" {
  source = "../.."

  name            = "ses-guard-shop"
  lambda_zip_path = "${path.module}/../../dist/ses-guard-lambda.zip"
  tags            = { Project = "ses-reputation-guard", Example = "multi-app", Application = "shop" }

  account_resources = "create"
  identities        = [aws_ses_email_identity.sender.email]

  database_url = var.shop_database_url

  create_disable_sending = true
  disable_sending_alarms = ["unregistered-recipients"]
}

# An application only: its configuration set, event pipeline, database, its alarms (including its
# own bounce and complaint rates) and its suppress-bouncing-users. The account part stays with the shop.
module "newsletter" {
  source = "../.."

  name            = "ses-guard-newsletter"
  lambda_zip_path = "${path.module}/../../dist/ses-guard-lambda.zip"
  tags            = { Project = "ses-reputation-guard", Example = "multi-app", Application = "newsletter" }

  account_resources = "none"
  account           = module.shop.account

  database_url = var.newsletter_database_url
}
