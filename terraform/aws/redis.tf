# Redis 7 on ElastiCache (rate-limit counters and the idempotency cache): a replication group with
# TLS in transit, encryption at rest (KMS), an auth token, and automatic failover across AZs when
# it has more than one node. Slow log to CloudWatch.

resource "aws_elasticache_subnet_group" "this" {
  name       = local.name
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_cloudwatch_log_group" "redis" {
  name              = "/aws/elasticache/${local.name}/slow-log"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_elasticache_replication_group" "this" {
  # checkov:skip=CKV_AWS_134: Redis holds only rate-limit counters and the idempotency cache, rebuilt by use; there is nothing worth restoring from a snapshot.
  # checkov:skip=CKV2_AWS_50: automatic failover and Multi-AZ are on whenever there is a replica (redis_num_cache_clusters > 1, the production default); a single-node staging cache has nothing to fail over to.
  replication_group_id = local.name
  description          = "Provenance ${var.environment}: rate limits and idempotency cache"
  engine               = "redis"
  engine_version       = "7.1"
  parameter_group_name = "default.redis7"
  node_type            = var.redis_node_type
  port                 = 6379

  num_cache_clusters         = local.redis_cache_clusters
  automatic_failover_enabled = local.redis_cache_clusters > 1
  multi_az_enabled           = local.redis_cache_clusters > 1

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this["redis"].id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.this.arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis.result

  snapshot_retention_limit   = 0
  auto_minor_version_upgrade = true
  maintenance_window         = "sun:05:30-sun:06:30"
  apply_immediately          = !local.is_production

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}
