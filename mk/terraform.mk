# Terraform side: offline toolchain, Lambda package, static checks. Included by the root Makefile.
#
#   make tools       Terraform 1.0.3 + aws provider 3.39.0 mirror + checkov, into .tools/
#   make build       dist/ses-guard-lambda.zip (LAMBDA_ARCH=x86_64|arm64, LAMBDA_PYTHON=3.12)
#   make fmt-check   terraform fmt -check over every .tf file
#   make validate    terraform validate of the root module, each submodule and each example
#   make checkov     checkov over the module; every finding fixed or skipped inline with a reason
#   make aws-provider-schema   regenerate the aws provider 6.x names the schema test checks against

TOOLS := .tools
TERRAFORM := $(TOOLS)/bin/terraform
TOOLS_STAMP := $(TOOLS)/.installed
CHECKOV_VENV := $(TOOLS)/checkov-venv
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# checkov's own pins clash with boto3/moto in .venv, hence its own virtualenv.
CHECKOV_VERSION := 3.3.30
LAMBDA_ZIP := dist/ses-guard-lambda.zip
TERRAFORM_DIRS := . $(patsubst %/,%,$(sort $(dir $(wildcard modules/*/*.tf examples/*/*.tf))))

# Terraform must read our CLI config (the offline provider mirror), whatever the environment says.
export TF_CLI_CONFIG_FILE := $(abspath $(TOOLS)/terraformrc)
export CHECKPOINT_DISABLE := 1
export TF_IN_AUTOMATION := 1

.PHONY: tools build fmt-check validate checkov

tools: $(TOOLS_STAMP) $(CHECKOV) ## Install Terraform 1.0.3, the aws 3.39.0 provider mirror and checkov into .tools/

$(TOOLS_STAMP): scripts/install_tools.py | $(VENV_READY)
	$(PY) scripts/install_tools.py --tools-dir $(TOOLS)
	touch $@

$(CHECKOV):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)

build: $(LAMBDA_ZIP) ## Build the reproducible Lambda zip dist/ses-guard-lambda.zip

$(LAMBDA_ZIP): scripts/build_lambda.py requirements-lambda.txt $(shell find lambda_src/ses_guard -type f -not -path '*/__pycache__/*' 2>/dev/null) | $(VENV_READY)
	$(PY) scripts/build_lambda.py --output $@

fmt-check: $(TOOLS_STAMP) ## terraform fmt -check over every .tf file
	$(TERRAFORM) fmt -check -recursive -diff .

validate: $(TOOLS_STAMP) ## terraform validate of the root module, submodules and examples
	@set -e; for dir in $(TERRAFORM_DIRS); do \
		echo "validate $$dir"; \
		$(abspath $(TERRAFORM)) -chdir=$$dir init -backend=false -input=false -no-color >/dev/null; \
		$(abspath $(TERRAFORM)) -chdir=$$dir validate -no-color; \
	done

checkov: $(CHECKOV) ## checkov over the module (findings must be fixed or skipped inline with a reason)
	$(CHECKOV) --directory . --framework terraform --quiet --compact --skip-download \
		--skip-path .venv --skip-path .tools --skip-path lambda_src --skip-path tests

TF_DOCS_PAIRS := README.md . $(foreach module,$(wildcard modules/*),$(module)/README.md $(module))

.PHONY: docs
docs: $(STAMP) ## Regenerate the inputs/outputs tables of README.md and modules/*/README.md from the code
	$(PY) scripts/terraform_docs.py $(TF_DOCS_PAIRS)

.PHONY: terraform-cycle
terraform-cycle: tools build ## Time apply, plan and destroy of both examples against moto (JSON seconds)
	$(PY) scripts/terraform_cycle.py

AWS_PROVIDER_SCHEMA := tests/terraform/aws_provider_schema.json.gz

.PHONY: aws-provider-schema
aws-provider-schema: $(STAMP) ## Regenerate the aws provider 6.x schema extract the schema test checks against (from PyPI)
	$(PY) scripts/aws_provider_schema.py --output $(AWS_PROVIDER_SCHEMA)
