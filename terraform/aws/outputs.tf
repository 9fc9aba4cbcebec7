locals {
  run_task_network = "awsvpcConfiguration={subnets=[${join(",", aws_subnet.private[*].id)}],securityGroups=[${aws_security_group.jobs.id}],assignPublicIp=DISABLED}"

  one_shot_tasks = {
    migrate = { definition = aws_ecs_task_definition.this["migrate"].arn, container = "migrate", command = [] }
    keys    = { definition = aws_ecs_task_definition.this["keys"].arn, container = "keys", command = [] }
    rotate  = { definition = aws_ecs_task_definition.this["keys"].arn, container = "keys", command = ["keys", "rotate"] }
  }

  # Run a one-shot task, wait for it to stop and fail unless its container exited 0.
  run_task_command = {
    for name, task in local.one_shot_tasks : name => join(" ", compact([
      "task=$(aws ecs run-task --region ${local.region} --cluster ${aws_ecs_cluster.this.name}",
      "--launch-type FARGATE --platform-version LATEST --task-definition ${task.definition}",
      "--network-configuration '${local.run_task_network}' --started-by ${name}",
      length(task.command) == 0 ? "" : "--overrides '${jsonencode({ containerOverrides = [{ name = task.container, command = task.command }] })}'",
      "--query 'tasks[0].taskArn' --output text)",
      "&& echo \"started $task\"",
      "&& aws ecs wait tasks-stopped --region ${local.region} --cluster ${aws_ecs_cluster.this.name} --tasks \"$task\"",
      "&& code=$(aws ecs describe-tasks --region ${local.region} --cluster ${aws_ecs_cluster.this.name} --tasks \"$task\"",
      "--query 'tasks[0].containers[0].exitCode' --output text)",
      "&& echo \"${name} exited with $code (logs: ${aws_cloudwatch_log_group.ecs["jobs"].name}, stream prefix ${task.container})\"",
      "&& test \"$code\" = 0",
    ]))
  }
}

output "alb_dns_name" {
  description = "DNS name of the load balancer: point domain_name at it (CNAME or alias) unless route53_zone_id is set."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Route 53 hosted zone id of the load balancer, for an alias record."
  value       = aws_lb.this.zone_id
}

output "api_url" {
  description = "External URL of the API (PROVENANCE_PUBLIC_BASE_URL); the smoke test's --base-url."
  value       = local.public_base_url
}

output "migrate_command" {
  description = "Shell command that runs `provenance-api migrate` once (aws ecs run-task), waits for it and fails unless it exited 0. Run it with: eval \"$(terraform output -raw migrate_command)\"."
  value       = local.run_task_command["migrate"]
}

output "keys_command" {
  description = "Shell command that runs `provenance keys show --pem` once on the shared data dir: creates the signing key on first install, prints the public key to the jobs log group. Run it with: eval \"$(terraform output -raw keys_command)\"."
  value       = local.run_task_command["keys"]
}

output "keys_rotate_command" {
  description = "Shell command that runs `provenance keys rotate` once: a new signing key becomes current, the old one stays listed (retired) so earlier bundles still verify. Then restart both services (see the README)."
  value       = local.run_task_command["rotate"]
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "ecs_service_names" {
  description = "Names of the ECS services, by role."
  value = {
    api    = aws_ecs_service.api.name
    worker = aws_ecs_service.worker.name
  }
}

output "task_definition_arns" {
  description = "Task definition ARNs (with revision) in use, by role: note them before a rollout to roll back by hand."
  value = {
    api     = aws_ecs_task_definition.this["api"].arn
    worker  = aws_ecs_task_definition.this["worker"].arn
    migrate = aws_ecs_task_definition.this["migrate"].arn
    keys    = aws_ecs_task_definition.this["keys"].arn
  }
}

output "secret_arns" {
  description = "Secrets Manager ARNs of the task secrets: database-url, amqp-url, redis-url, bootstrap-admin-key."
  value       = { for name, secret in aws_secretsmanager_secret.this : name => secret.arn }
}

output "log_groups" {
  description = "CloudWatch log groups: api, worker, jobs (migrate and keys), VPC flow logs, Redis slow log, PostgreSQL."
  value = {
    api        = aws_cloudwatch_log_group.ecs["api"].name
    worker     = aws_cloudwatch_log_group.ecs["worker"].name
    jobs       = aws_cloudwatch_log_group.ecs["jobs"].name
    flow_logs  = aws_cloudwatch_log_group.flow_logs.name
    redis      = aws_cloudwatch_log_group.redis.name
    postgresql = aws_cloudwatch_log_group.rds["postgresql"].name
  }
}

output "worker_grpc_url" {
  description = "PROVENANCE_WORKER_GRPC_URL given to the API: the workers' DetectorService through ECS Service Connect."
  value       = local.worker_grpc_url
}

output "database_endpoint" {
  description = "PostgreSQL endpoint (host:port), reachable from the tasks only."
  value       = aws_db_instance.this.endpoint
}

output "broker_console_url" {
  description = "RabbitMQ management console of the broker (private: reachable from inside the VPC only)."
  value       = aws_mq_broker.this.instances[0].console_url
}

output "redis_endpoint" {
  description = "Redis primary endpoint, reachable from the tasks only."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "efs_file_system_id" {
  description = "EFS file system holding the shared data dir (signing keyring); backed up by AWS Backup."
  value       = aws_efs_file_system.data.id
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Private subnets (tasks, data stores)."
  value       = aws_subnet.private[*].id
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the secrets, database, EFS, Redis and logs."
  value       = aws_kms_key.this.arn
}
