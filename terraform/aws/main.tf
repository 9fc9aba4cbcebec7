data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  # checkov:skip=CKV_AWS_394: only used when var.availability_zones is empty, and then only the first var.az_count zone names (sorted) are taken; set availability_zones to pin them explicitly.
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  name          = "${var.name}-${var.environment}"
  is_production = var.environment == "production"
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  azs           = length(var.availability_zones) > 0 ? var.availability_zones : slice(sort(data.aws_availability_zones.available.names), 0, var.az_count)

  tags = merge(var.tags, {
    Application = "provenance"
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  # Staging is small and cheap, production highly available; every choice can be overridden.
  nat_gateway_per_az   = coalesce(var.nat_gateway_per_az, local.is_production)
  db_multi_az          = coalesce(var.db_multi_az, local.is_production)
  mq_deployment_mode   = coalesce(var.mq_deployment_mode, local.is_production ? "CLUSTER_MULTI_AZ" : "SINGLE_INSTANCE")
  mq_instance_type     = coalesce(var.mq_instance_type, local.is_production ? "mq.m5.large" : "mq.t3.micro")
  redis_cache_clusters = coalesce(var.redis_num_cache_clusters, local.is_production ? 2 : 1)

  # The services' writable data dir (signing keyring), shared by every task through EFS.
  data_dir = "/var/lib/provenance"

  # The API reaches the workers' DetectorService through ECS Service Connect at this name.
  service_connect_namespace = "${local.name}.internal"
  worker_grpc_url           = "http://worker.${local.service_connect_namespace}:9090"

  public_base_url = "https://${var.domain_name}"

  # The RabbitMQ queue whose depth scales the workers (PROVENANCE_AMQP_PREFIX is left empty).
  analysis_queue = "analysis.jobs"

  api_desired_count    = var.services_enabled ? var.api_min_count : 0
  worker_desired_count = var.services_enabled ? var.worker_min_count : 0
}
