# backend-checks-results as an AWS Lambda function (custom runtime), its log
# group and its execution role. See deploy/README.md.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  package_path = coalesce(var.package_path, "${var.package_dir}/function-${var.architecture}.zip")
  # make package writes the package's architecture beside it (function-arm64.architecture).
  package_arch_file = "${trimsuffix(local.package_path, ".zip")}.architecture"
  bucket_arn        = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  log_group_arn     = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.function_name}"
}

# Created here, not by Lambda on first use, so that it has a retention.
resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${var.function_name}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

# Only what the step does: read the manifest and result files, write
# results.json (one PutObject, or a multipart upload), abort that upload on
# failure; and write its own logs. No s3:ListBucket: so a missing key is
# answered 403 AccessDenied, not 404 NoSuchKey (see deploy/README.md).
data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadExportWriteResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/*"]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      sid       = "BucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "${var.function_name}-policy"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

resource "aws_lambda_function" "function" {
  function_name    = var.function_name
  description      = "Aggregates a Distributed Map's ResultWriter export into one results.json"
  role             = aws_iam_role.function.arn
  filename         = local.package_path
  source_code_hash = filebase64sha256(local.package_path)
  runtime          = var.runtime
  handler          = "bootstrap" # unused by a custom runtime; bootstrap is the entry point
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout

  dynamic "vpc_config" {
    for_each = length(var.subnet_ids) > 0 ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }

  environment {
    variables = merge(var.environment_variables, {
      BCR_TRANSFORMATION = var.transformation
    })
  }

  # Lambda passes these to the runtime as AWS_LAMBDA_LOG_FORMAT and
  # AWS_LAMBDA_LOG_LEVEL, which the program reads.
  logging_config {
    log_format            = var.log_format
    log_group             = aws_cloudwatch_log_group.function.name
    application_log_level = var.log_format == "JSON" ? var.log_level : null
    system_log_level      = var.log_format == "JSON" ? "INFO" : null
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.function, aws_iam_role_policy_attachment.vpc]

  lifecycle {
    precondition {
      condition     = !fileexists(local.package_arch_file) || trimspace(try(file(local.package_arch_file), "")) == var.architecture
      error_message = "The package ${local.package_path} is not for ${var.architecture} (see ${local.package_arch_file}): a function runs only a package of its own architecture."
    }
  }
}

# In a VPC, Lambda creates and deletes the function's network interfaces with
# the role's permissions.
resource "aws_iam_role_policy_attachment" "vpc" {
  count      = length(var.subnet_ids) > 0 ? 1 : 0
  role       = aws_iam_role.function.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

# For the state machine's role: allows invoking this function (and only it).
data "aws_iam_policy_document" "invoke" {
  statement {
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.function.arn, "${aws_lambda_function.function.arn}:*"]
  }
}
