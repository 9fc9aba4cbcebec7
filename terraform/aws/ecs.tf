# ECS on Fargate: the API behind the load balancer, the workers behind ECS Service Connect (the
# API's Envoy proxy balances its gRPC calls over the worker tasks, request by request), and two
# one-shot task definitions run with `aws ecs run-task` (see the outputs): `migrate` (the schema)
# and `keys` (creates the shared signing key on first install, prints the public key).
#
# Every container runs as 65532:65532 with a read-only root filesystem. The API, the worker and
# the keys task have one writable path, the data dir /var/lib/provenance: an EFS access point
# shared by all of them (migrate writes nothing locally). Logs are JSON lines in CloudWatch.

resource "aws_cloudwatch_log_group" "ecs" {
  for_each = toset(["api", "worker", "jobs"])

  name              = "/ecs/${local.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_service_discovery_http_namespace" "this" {
  name        = local.service_connect_namespace
  description = "Service Connect namespace of Provenance ${var.environment}"
}

resource "aws_ecs_cluster" "this" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  service_connect_defaults {
    namespace = aws_service_discovery_http_namespace.this.arn
  }
}

locals {
  # repositoryCredentials, only when private images need them.
  pull_credentials = {
    for arn in compact([var.registry_credentials_secret_arn]) : "repositoryCredentials" => { credentialsParameter = arn }
  }

  # Settings shared by the API and the worker (see the README of the repository for each one).
  service_environment = concat(
    [
      { name = "PROVENANCE_LOG_FORMAT", value = "json" },
      { name = "PROVENANCE_DATA_DIR", value = local.data_dir },
      { name = "PROVENANCE_DATABASE_MAX_CONNECTIONS", value = tostring(var.database_max_connections) },
      { name = "PROVENANCE_PUBLIC_BASE_URL", value = local.public_base_url },
      { name = "RUST_LOG", value = var.rust_log },
    ],
    var.otlp_endpoint == "" ? [] : [{ name = "PROVENANCE_OTLP_ENDPOINT", value = var.otlp_endpoint }],
    var.webhook_allow_hosts == "" ? [] : [{ name = "PROVENANCE_WEBHOOK_ALLOW_HOSTS", value = var.webhook_allow_hosts }],
  )

  service_secrets = [
    { name = "PROVENANCE_DATABASE_URL", valueFrom = aws_secretsmanager_secret.this["database-url"].arn },
    { name = "PROVENANCE_AMQP_URL", valueFrom = aws_secretsmanager_secret.this["amqp-url"].arn },
    { name = "PROVENANCE_REDIS_URL", valueFrom = aws_secretsmanager_secret.this["redis-url"].arn },
  ]

  data_mount = [{ sourceVolume = "data", containerPath = local.data_dir, readOnly = false }]

  log_options = {
    for group in keys(aws_cloudwatch_log_group.ecs) : group => {
      awslogs-group         = aws_cloudwatch_log_group.ecs[group].name
      awslogs-region        = local.region
      awslogs-stream-prefix = group
      mode                  = "non-blocking"
      max-buffer-size       = "25m"
    }
  }
}

# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------

resource "aws_ecs_service" "api" {
  name                               = "api"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this["api"].arn
  desired_count                      = local.api_desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.this["api"].id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8080
  }

  # A Service Connect client: resolves worker.<namespace> through its proxy.
  service_connect_configuration {
    enabled   = true
    namespace = aws_service_discovery_http_namespace.this.arn

    log_configuration {
      log_driver = "awslogs"
      options    = merge(local.log_options["api"], { awslogs-stream-prefix = "service-connect" })
    }
  }

  # The autoscaler owns the task count after creation.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.https, aws_ecs_service.worker]
}

# ---------------------------------------------------------------------------------------------
# Worker
# ---------------------------------------------------------------------------------------------

resource "aws_ecs_service" "worker" {
  name                               = "worker"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.this["worker"].arn
  desired_count                      = local.worker_desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.this["worker"].id]
    assign_public_ip = false
  }

  # A Service Connect server: its port "grpc" is published as worker.<namespace>:9090.
  service_connect_configuration {
    enabled   = true
    namespace = aws_service_discovery_http_namespace.this.arn

    service {
      port_name      = "grpc"
      discovery_name = "worker"

      client_alias {
        port     = 9090
        dns_name = "worker.${local.service_connect_namespace}"
      }

      # Envoy's default 15 s would cut Detect calls the API allows 30 s for.
      timeout {
        per_request_timeout_seconds = 35
      }
    }

    log_configuration {
      log_driver = "awslogs"
      options    = merge(local.log_options["worker"], { awslogs-stream-prefix = "service-connect" })
    }
  }

  lifecycle {
    ignore_changes = [desired_count]
  }
}

# ---------------------------------------------------------------------------------------------
# Task definitions: the two services, and two one-shot tasks run with `aws ecs run-task`
# (commands in the outputs)
# ---------------------------------------------------------------------------------------------

locals {
  # What every container shares: non-root, read-only root filesystem, pull credentials.
  container_defaults = merge(local.pull_credentials, {
    essential              = true
    user                   = "65532:65532"
    readonlyRootFilesystem = true
  })

  health_check_timing = { interval = 10, timeout = 5, retries = 3, startPeriod = 30 }

  # Per task: its size, whether it mounts the shared data dir, and its one container (JSON).
  tasks = {
    api = {
      cpu    = var.api_cpu
      memory = var.api_memory
      data   = true
      container = jsonencode(merge(local.container_defaults, {
        name        = "api"
        image       = var.api_image
        stopTimeout = 30
        portMappings = [
          { name = "http", containerPort = 8080, protocol = "tcp", appProtocol = "http" },
        ]
        environment = concat(local.service_environment, [
          { name = "PROVENANCE_HTTP_LISTEN", value = "0.0.0.0:8080" },
          { name = "PROVENANCE_WORKER_GRPC_URL", value = local.worker_grpc_url },
        ])
        secrets = concat(local.service_secrets, [
          { name = "PROVENANCE_BOOTSTRAP_ADMIN_KEY", valueFrom = aws_secretsmanager_secret.this["bootstrap-admin-key"].arn },
        ])
        mountPoints      = local.data_mount
        healthCheck      = merge(local.health_check_timing, { command = ["CMD", "/usr/local/bin/provenance-api", "healthcheck"] })
        logConfiguration = { logDriver = "awslogs", options = local.log_options["api"] }
      }))
    }
    worker = {
      cpu    = var.worker_cpu
      memory = var.worker_memory
      data   = true
      container = jsonencode(merge(local.container_defaults, {
        name        = "worker"
        image       = var.worker_image
        stopTimeout = 60
        portMappings = [
          { name = "grpc", containerPort = 9090, protocol = "tcp", appProtocol = "grpc" },
        ]
        environment = concat(local.service_environment, [
          { name = "PROVENANCE_WORKER__HEALTH_LISTEN", value = "0.0.0.0:9090" },
          { name = "PROVENANCE_WORKER__CONCURRENCY", value = tostring(var.worker_concurrency) },
        ])
        secrets          = local.service_secrets
        mountPoints      = local.data_mount
        healthCheck      = merge(local.health_check_timing, { command = ["CMD", "/usr/local/bin/provenance-worker", "healthcheck"] })
        logConfiguration = { logDriver = "awslogs", options = local.log_options["worker"] }
      }))
    }
    # `provenance-api migrate`: applies the schema and exits 0. Idempotent; the services refuse to
    # start on a schema older than their release, and accept a newer one.
    migrate = {
      cpu    = 256
      memory = 512
      data   = false
      container = jsonencode(merge(local.container_defaults, {
        name    = "migrate"
        image   = coalesce(var.migrate_image, var.api_image)
        command = ["migrate"]
        environment = [
          { name = "PROVENANCE_LOG_FORMAT", value = "json" },
          { name = "RUST_LOG", value = var.rust_log },
        ]
        secrets = [
          { name = "PROVENANCE_DATABASE_URL", valueFrom = aws_secretsmanager_secret.this["database-url"].arn },
        ]
        logConfiguration = { logDriver = "awslogs", options = merge(local.log_options["jobs"], { awslogs-stream-prefix = "migrate" }) }
      }))
    }
    # `provenance keys show --pem` on the shared data dir: creates the Ed25519 signing key if there
    # is none yet (before any service starts, so that no two tasks race to create it) and prints
    # the current public key (PEM) to the log. Run it again any time to read the public key.
    keys = {
      cpu    = 256
      memory = 512
      data   = true
      container = jsonencode(merge(local.container_defaults, {
        name    = "keys"
        image   = var.cli_image
        command = ["keys", "show", "--pem"]
        environment = [
          { name = "PROVENANCE_DATA_DIR", value = local.data_dir },
        ]
        mountPoints      = local.data_mount
        logConfiguration = { logDriver = "awslogs", options = merge(local.log_options["jobs"], { awslogs-stream-prefix = "keys" }) }
      }))
    }
  }
}

resource "aws_ecs_task_definition" "this" {
  for_each = local.tasks

  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # The shared data dir (signing keys): an encrypted EFS access point, IAM-authorized.
  dynamic "volume" {
    for_each = each.value.data ? ["data"] : []

    content {
      name = volume.value

      efs_volume_configuration {
        file_system_id     = aws_efs_file_system.data.id
        transit_encryption = "ENABLED"

        authorization_config {
          access_point_id = aws_efs_access_point.data.id
          iam             = "ENABLED"
        }
      }
    }
  }

  container_definitions = "[${each.value.container}]"
}
