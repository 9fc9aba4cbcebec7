# Target tracking: the API on CPU; the workers on CPU and on the backlog of the analysis.jobs
# queue per running worker (Amazon MQ's MessageCount for the queue, divided by the service's
# RunningTaskCount from Container Insights). With several policies the service gets the largest
# count any of them asks for, and scales in only when all of them allow it.

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.api.name}"
  min_capacity       = local.api_desired_count
  max_capacity       = var.services_enabled ? var.api_max_count : 0

  lifecycle {
    precondition {
      condition     = var.api_min_count <= var.api_max_count
      error_message = "api_min_count must not exceed api_max_count."
    }
  }
}

resource "aws_appautoscaling_policy" "api_cpu" {
  name               = "${local.name}-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension
  resource_id        = aws_appautoscaling_target.api.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.api_cpu_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker.name}"
  min_capacity       = local.worker_desired_count
  max_capacity       = var.services_enabled ? var.worker_max_count : 0

  lifecycle {
    precondition {
      condition     = var.worker_min_count <= var.worker_max_count
      error_message = "worker_min_count must not exceed worker_max_count."
    }
  }
}

resource "aws_appautoscaling_policy" "worker_cpu" {
  name               = "${local.name}-worker-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  resource_id        = aws_appautoscaling_target.worker.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_cpu_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "worker_queue" {
  name               = "${local.name}-worker-queue-backlog"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  resource_id        = aws_appautoscaling_target.worker.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_messages_per_task
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    customized_metric_specification {
      metrics {
        id          = "backlog_per_task"
        label       = "${local.analysis_queue} messages per running worker task"
        expression  = "messages / IF(tasks < 1, 1, tasks)"
        return_data = true
      }

      metrics {
        id          = "messages"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "AWS/AmazonMQ"
            metric_name = "MessageCount"

            dimensions {
              name  = "Broker"
              value = aws_mq_broker.this.broker_name
            }

            dimensions {
              name  = "VirtualHost"
              value = "/"
            }

            dimensions {
              name  = "Queue"
              value = local.analysis_queue
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        return_data = false

        metric_stat {
          stat = "Average"

          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"

            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }

            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }
    }
  }
}
