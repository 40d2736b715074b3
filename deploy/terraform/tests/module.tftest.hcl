# Offline checks of the module:
#   cd deploy/terraform && terraform init && terraform test (no AWS account needed)
# The real provider, kept offline: a plan of new resources makes no AWS
# call, the policy documents render locally, and the account id is given.
provider "aws" {
  region                      = "eu-west-2"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_caller_identity.current
  values = {
    account_id = "123456789012"
  }
}

variables {
  function_name = "tdr-backend-checks-results-test"
  package_path  = "tests/fixture.zip"
  bucket_name   = "tdr-backend-checks-test"
}

run "function" {
  command = plan

  assert {
    condition     = aws_lambda_function.function.runtime == "provided.al2023"
    error_message = "runtime"
  }
  assert {
    condition     = aws_lambda_function.function.handler == "bootstrap"
    error_message = "handler"
  }
  assert {
    condition     = aws_lambda_function.function.architectures == tolist(["x86_64"])
    error_message = "architecture"
  }
  assert {
    condition     = aws_lambda_function.function.logging_config[0].log_format == "JSON"
    error_message = "log format"
  }
  assert {
    condition     = aws_lambda_function.function.logging_config[0].application_log_level == "INFO"
    error_message = "log level"
  }
  assert {
    condition     = aws_lambda_function.function.environment[0].variables["BCR_TRANSFORMATION"] == "NONE"
    error_message = "transformation"
  }
  assert {
    condition     = aws_cloudwatch_log_group.function.name == "/aws/lambda/tdr-backend-checks-results-test"
    error_message = "log group"
  }
  assert {
    condition     = aws_lambda_function.function.timeout == 120 && aws_lambda_function.function.memory_size == 512
    error_message = "TDR's timeout, and the memory size docs/benchmarks.md recommends"
  }
  assert {
    condition     = length(aws_lambda_function.function.vpc_config) == 0 && length(aws_iam_role_policy_attachment.vpc) == 0
    error_message = "no VPC unless subnets are given"
  }
}

run "in_a_vpc" {
  command = plan

  variables {
    subnet_ids         = ["subnet-0123456789abcdef0"]
    security_group_ids = ["sg-0123456789abcdef0"]
  }

  assert {
    condition     = aws_lambda_function.function.vpc_config[0].subnet_ids == toset(["subnet-0123456789abcdef0"])
    error_message = "subnets"
  }
  assert {
    condition     = aws_lambda_function.function.vpc_config[0].security_group_ids == toset(["sg-0123456789abcdef0"])
    error_message = "security groups"
  }
  assert {
    condition     = aws_iam_role_policy_attachment.vpc[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    error_message = "VPC access policy"
  }
}

run "least_privilege" {
  command = plan

  assert {
    condition     = toset(jsondecode(data.aws_iam_policy_document.function.json).Statement[0].Action) == toset(["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"])
    error_message = "S3 actions"
  }
  assert {
    condition     = jsondecode(data.aws_iam_policy_document.function.json).Statement[0].Resource == "arn:aws:s3:::tdr-backend-checks-test/*"
    error_message = "S3 resource"
  }
  assert {
    condition     = length(jsondecode(data.aws_iam_policy_document.function.json).Statement) == 2
    error_message = "no KMS statement without a key"
  }
}

run "kms_and_arm64" {
  command = plan
  variables {
    kms_key_arn    = "arn:aws:kms:eu-west-2:123456789012:key/abc"
    architecture   = "arm64"
    transformation = "COMPACT"
    log_format     = "Text"
  }

  assert {
    condition     = length(jsondecode(data.aws_iam_policy_document.function.json).Statement) == 3
    error_message = "KMS statement"
  }
  assert {
    condition     = aws_lambda_function.function.architectures == tolist(["arm64"])
    error_message = "architecture"
  }
  assert {
    condition     = aws_lambda_function.function.logging_config[0].application_log_level == null
    error_message = "no application log level with Text logs"
  }
}

run "architecture_picks_its_package" {
  command = plan
  variables {
    package_path = null
    package_dir  = "tests"
    architecture = "arm64"
  }

  assert {
    condition     = aws_lambda_function.function.filename == "tests/function-arm64.zip"
    error_message = "the arm64 package"
  }
  assert {
    condition     = aws_lambda_function.function.architectures == tolist(["arm64"])
    error_message = "architecture"
  }
}

run "rejects_a_package_of_the_other_architecture" {
  command = plan
  variables {
    package_path = "tests/function-arm64.zip"
    architecture = "x86_64"
  }
  expect_failures = [aws_lambda_function.function]
}

run "rejects_an_unknown_architecture" {
  command = plan
  variables {
    architecture = "sparc"
  }
  expect_failures = [var.architecture]
}

run "rejects_an_unknown_transformation" {
  command = plan
  variables {
    transformation = "SIDEWAYS"
  }
  expect_failures = [var.transformation]
}
