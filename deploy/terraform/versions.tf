terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # logging_config (JSON logs, application log level) arrived in 5.26.
      version = ">= 5.26"
    }
  }
}
