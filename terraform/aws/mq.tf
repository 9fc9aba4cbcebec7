# RabbitMQ 3.13 on Amazon MQ: private (AMQPS on 5671 from the API and the workers only), general
# logs to CloudWatch, minor versions upgraded in the maintenance window. Single instance or a
# three-node cluster across AZs (the services declare quorum queues, replicated in a cluster).

locals {
  mq_username = "provenance"
}

resource "aws_mq_broker" "this" {
  # checkov:skip=CKV_AWS_209: Amazon MQ for RabbitMQ encrypts at rest with an AWS-owned KMS key only; customer-managed keys (encryption_options) apply to ActiveMQ brokers.
  broker_name                = local.name
  engine_type                = "RabbitMQ"
  engine_version             = "3.13"
  host_instance_type         = local.mq_instance_type
  deployment_mode            = local.mq_deployment_mode
  publicly_accessible        = false
  subnet_ids                 = local.mq_deployment_mode == "CLUSTER_MULTI_AZ" ? aws_subnet.private[*].id : [aws_subnet.private[0].id]
  security_groups            = [aws_security_group.this["mq"].id]
  auto_minor_version_upgrade = true
  apply_immediately          = !local.is_production

  user {
    username = local.mq_username
    password = random_password.mq.result
  }

  logs {
    general = true
  }

  maintenance_window_start_time {
    day_of_week = "SUNDAY"
    time_of_day = "05:00"
    time_zone   = "UTC"
  }

  lifecycle {
    precondition {
      condition     = !(local.mq_deployment_mode == "CLUSTER_MULTI_AZ" && local.mq_instance_type == "mq.t3.micro")
      error_message = "mq.t3.micro supports SINGLE_INSTANCE only: set mq_instance_type (e.g. mq.m5.large) for a CLUSTER_MULTI_AZ broker."
    }
  }
}
