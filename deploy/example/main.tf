# Example: the module, and the Step Functions task that calls the function
# after the Distributed Map (backend-checks.asl.json). In TDR the state
# machine and its role already exist: what it needs from here is the task
# state, the function's ARN and the invoke policy.
#
#   make package ARCH=x86_64     (or ARCH=arm64, with -var architecture=arm64)
#   cd deploy/example && terraform init && terraform apply -var environment=intg

variable "environment" {
  type    = string
  default = "intg"
}

variable "architecture" {
  description = "x86_64 (default) or arm64: picks build/function-ARCHITECTURE.zip and the function's architecture."
  type        = string
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

provider "aws" {
  region = "eu-west-2"
}

locals {
  bucket = "tdr-backend-checks-${var.environment}"
}

module "backend_checks_results" {
  source        = "../terraform"
  function_name = "tdr-backend-checks-results-${var.environment}"
  # build/function-ARCHITECTURE.zip: make package ARCH=x86_64 (or arm64).
  package_dir  = "${path.module}/../../build"
  architecture = var.architecture
  bucket_name  = local.bucket
  tags = {
    Environment = var.environment
  }
}

data "aws_iam_policy_document" "states_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "tdr-backend-checks-example-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.states_assume.json
}

# Only the invoke permission is shown; the Distributed Map also needs its own
# (s3:GetObject for the ItemReader, s3:PutObject for the ResultWriter,
# states:StartExecution and friends for the child executions).
resource "aws_iam_role_policy" "invoke_backend_checks_results" {
  name   = "invoke-backend-checks-results"
  role   = aws_iam_role.state_machine.id
  policy = module.backend_checks_results.invoke_policy_json
}

resource "aws_sfn_state_machine" "backend_checks" {
  name     = "tdr-backend-checks-example-${var.environment}"
  role_arn = aws_iam_role.state_machine.arn
  definition = templatefile("${path.module}/backend-checks.asl.json", {
    bucket                     = local.bucket
    backend_checks_results_arn = module.backend_checks_results.function_arn
  })
}

output "function_arn" {
  value = module.backend_checks_results.function_arn
}

# A backstop for the multipart upload a killed sandbox could not abort. This
# resource owns the bucket's whole lifecycle configuration: where the bucket
# already has rules (TDR's expiry), add this rule to them instead.
resource "aws_s3_bucket_lifecycle_configuration" "abort_incomplete_uploads" {
  bucket = local.bucket

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}
