output "function_arn" {
  description = "For the Step Functions task's FunctionName."
  value       = aws_lambda_function.function.arn
}

output "function_name" {
  value = aws_lambda_function.function.function_name
}

output "role_arn" {
  description = "The function's execution role."
  value       = aws_iam_role.function.arn
}

output "log_group_name" {
  value = aws_cloudwatch_log_group.function.name
}

output "invoke_policy_json" {
  description = "An IAM policy document that allows invoking the function: attach it to the state machine's role."
  value       = data.aws_iam_policy_document.invoke.json
}
