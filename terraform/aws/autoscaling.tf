# Target tracking: the API on CPU; the workers on CPU and on the backlog of the analysis.jobs
# queue per running worker (Amazon MQ's MessageCount for the queue, divided by the service's
# RunningTaskCount from Container Insights). With several policies the service gets the largest
# count any of them asks for, and scales in only when all of them allow it.

locals {
  # The two services' task-count bounds and CPU targets.
  scaling = {
    api = {
      service    = aws_ecs_service.api.name
      desired    = local.api_desired_count
      min        = var.api_min_count
      max        = var.api_max_count
      cpu_target = var.api_cpu_target
    }
    worker = {
      service    = aws_ecs_service.worker.name
      desired    = local.worker_desired_count
      min        = var.worker_min_count
      max        = var.worker_max_count
      cpu_target = var.worker_cpu_target
    }
  }
}

resource "aws_appautoscaling_target" "service" {
  for_each = local.scaling

  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${each.value.service}"
  min_capacity       = each.value.desired
  max_capacity       = var.services_enabled ? each.value.max : 0

  lifecycle {
    precondition {
      condition     = each.value.min <= each.value.max
      error_message = "${each.key}_min_count must not exceed ${each.key}_max_count."
    }
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  for_each = local.scaling

  name               = "${local.name}-${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service[each.key].service_namespace
  scalable_dimension = aws_appautoscaling_target.service[each.key].scalable_dimension
  resource_id        = aws_appautoscaling_target.service[each.key].resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = each.value.cpu_target
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
  service_namespace  = aws_appautoscaling_target.service["worker"].service_namespace
  scalable_dimension = aws_appautoscaling_target.service["worker"].scalable_dimension
  resource_id        = aws_appautoscaling_target.service["worker"].resource_id

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
