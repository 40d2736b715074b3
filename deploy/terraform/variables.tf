variable "function_name" {
  description = "Name of the Lambda function, e.g. tdr-backend-checks-results-intg."
  type        = string
}

variable "package_path" {
  description = "The package to deploy. Default: PACKAGE_DIR/function-ARCHITECTURE.zip, the one `make package ARCH=...` builds for the chosen architecture."
  type        = string
  default     = null
}

variable "package_dir" {
  description = "Where the packages are (the build directory), when package_path is not given."
  type        = string
  default     = "build"
}

variable "architecture" {
  description = "x86_64 or arm64 (Graviton, about 20% cheaper per GB-second): the function's architecture, and which package is deployed (build/function-ARCHITECTURE.zip)."
  type        = string
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "runtime" {
  description = "OS-only runtime: provided.al2023, or provided.al2 (the package brings its own libc, so either works)."
  type        = string
  default     = "provided.al2023"
  validation {
    condition     = contains(["provided.al2023", "provided.al2"], var.runtime)
    error_message = "runtime must be provided.al2023 or provided.al2."
  }
}

variable "bucket_name" {
  description = "The backend checks bucket: the Map state's ResultWriter writes there, and results.json is written there."
  type        = string
}

variable "kms_key_arn" {
  description = "If the bucket is encrypted with a customer-managed KMS key, its ARN (adds kms:Decrypt and kms:GenerateDataKey)."
  type        = string
  default     = null
}

variable "memory_size" {
  description = "MB. The step needs about 30 MB (it streams; this does not grow with the export); memory buys CPU: Lambda gives memory/1769 of a vCPU. Measured with Lambda's CPU share and S3 at 75 MB/s (make bench-prod, docs/benchmarks.md): from 512 MB up the step waits on the network (100,000 entries in 4.5 s at 512 MB, 4.1 s at 1024) and costs 0.55 times as much per invocation as at 1024 MB; below it the step is CPU-bound (6.7-9 s at 256 MB, 13-17 s at 128 MB)."
  type        = number
  default     = 512
}

variable "timeout" {
  description = "Seconds (TDR runs 120). The function stops itself 2 s before this and reports a Timeout error, with its upload aborted."
  type        = number
  default     = 120
}

variable "subnet_ids" {
  description = "To run in a VPC (as TDR does): its private subnets. They need a route to S3 on 443 (a gateway endpoint or NAT). Empty: no VPC."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "With subnet_ids: the function's security groups (outbound 443 to S3 is all it needs)."
  type        = list(string)
  default     = []
}

variable "transformation" {
  description = "The Map state's ResultWriter Transformation: NONE, COMPACT or FLATTEN (BCR_TRANSFORMATION)."
  type        = string
  default     = "NONE"
  validation {
    condition     = contains(["NONE", "COMPACT", "FLATTEN"], var.transformation)
    error_message = "transformation must be NONE, COMPACT or FLATTEN."
  }
}

variable "log_format" {
  description = "JSON (one JSON object per line, filtered by log_level) or Text."
  type        = string
  default     = "JSON"
  validation {
    condition     = contains(["JSON", "Text"], var.log_format)
    error_message = "log_format must be JSON or Text."
  }
}

variable "log_level" {
  description = "Application log level with JSON logs: TRACE, DEBUG, INFO, WARN, ERROR or FATAL. The per-invocation metrics (EMF) are written at INFO: above it there are none."
  type        = string
  default     = "INFO"
  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30
}

variable "environment_variables" {
  description = "Extra environment variables (e.g. AWS_MAX_ATTEMPTS, BCR_S3_PART_SIZE)."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
