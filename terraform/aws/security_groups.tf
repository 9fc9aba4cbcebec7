# One security group per role, and every allowed flow spelled out once below: who may reach whom,
# on which port. Nothing else is open; in particular the worker's port 9090 (gRPC DetectorService,
# health, metrics; no authentication) is reachable from the API only (plus optional scrapers).

locals {
  security_groups = {
    alb    = "Provenance load balancer"
    api    = "Provenance API tasks"
    worker = "Provenance worker tasks"
    db     = "Provenance PostgreSQL"
    mq     = "Provenance RabbitMQ broker"
    redis  = "Provenance Redis"
    efs    = "Provenance shared data dir (EFS)"
  }

  # Flows between two of the groups above: an egress rule on `from` and an ingress rule on `to`.
  internal_flows = {
    alb_to_api      = { from = "alb", to = "api", port = 8080, description = "HTTP to the API" }
    api_to_worker   = { from = "api", to = "worker", port = 9090, description = "gRPC DetectorService of the worker" }
    api_to_db       = { from = "api", to = "db", port = 5432, description = "PostgreSQL" }
    worker_to_db    = { from = "worker", to = "db", port = 5432, description = "PostgreSQL" }
    jobs_to_db      = { from = "jobs", to = "db", port = 5432, description = "PostgreSQL (migrations)" }
    api_to_mq       = { from = "api", to = "mq", port = 5671, description = "AMQPS" }
    worker_to_mq    = { from = "worker", to = "mq", port = 5671, description = "AMQPS" }
    api_to_redis    = { from = "api", to = "redis", port = 6379, description = "Redis (TLS)" }
    worker_to_redis = { from = "worker", to = "redis", port = 6379, description = "Redis (TLS)" }
    api_to_efs      = { from = "api", to = "efs", port = 2049, description = "NFS (TLS) to the data dir" }
    worker_to_efs   = { from = "worker", to = "efs", port = 2049, description = "NFS (TLS) to the data dir" }
    jobs_to_efs     = { from = "jobs", to = "efs", port = 2049, description = "NFS (TLS) to the data dir" }
  }

  # Egress of the tasks to the internet (through the NAT gateways): image pulls and AWS APIs
  # (Secrets Manager, CloudWatch Logs, ECR) on 443 for all; the worker's webhook deliveries to
  # arbitrary receivers on 443 and 80.
  internet_egress = {
    api_https    = { group = "api", port = 443, description = "HTTPS: image pulls and AWS APIs" }
    worker_https = { group = "worker", port = 443, description = "HTTPS: image pulls, AWS APIs, webhook deliveries" }
    worker_http  = { group = "worker", port = 80, description = "HTTP webhook deliveries" }
    jobs_https   = { group = "jobs", port = 443, description = "HTTPS: image pulls and AWS APIs" }
  }

  otlp_egress = var.otlp_endpoint == "" ? [] : ["api", "worker"]

  scraper_ingress = merge(
    { for sg in var.metrics_scraper_security_group_ids : "api-${sg}" => { group = "api", port = 8080, source = sg } },
    { for sg in var.metrics_scraper_security_group_ids : "worker-${sg}" => { group = "worker", port = 9090, source = sg } },
  )
}

resource "aws_security_group" "this" {
  for_each = local.security_groups

  name_prefix = "${local.name}-${each.key}-"
  description = each.value
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${local.name}-${each.key}"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "jobs" {
  # checkov:skip=CKV2_AWS_5: attached by `aws ecs run-task` (the migrate_command and keys_command outputs), not by a Terraform resource.
  name_prefix = "${local.name}-jobs-"
  description = "Provenance one-shot tasks (migrate, keys)"
  vpc_id      = aws_vpc.this.id

  tags = {
    Name = "${local.name}-jobs"
  }

  lifecycle {
    create_before_destroy = true
  }
}

locals {
  security_group_ids = merge(
    { for role, group in aws_security_group.this : role => group.id },
    { jobs = aws_security_group.jobs.id },
  )
}

resource "aws_vpc_security_group_egress_rule" "internal" {
  for_each = local.internal_flows

  security_group_id            = local.security_group_ids[each.value.from]
  referenced_security_group_id = local.security_group_ids[each.value.to]
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.description
}

resource "aws_vpc_security_group_ingress_rule" "internal" {
  for_each = local.internal_flows

  security_group_id            = local.security_group_ids[each.value.to]
  referenced_security_group_id = local.security_group_ids[each.value.from]
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = each.value.description
}

resource "aws_vpc_security_group_egress_rule" "internet" {
  for_each = local.internet_egress

  security_group_id = local.security_group_ids[each.value.group]
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  description       = each.value.description
}

resource "aws_vpc_security_group_egress_rule" "otlp" {
  for_each = toset(local.otlp_egress)

  security_group_id = local.security_group_ids[each.value]
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "tcp"
  from_port         = 4317
  to_port           = 4318
  description       = "OTLP traces to a collector in the VPC"
}

resource "aws_vpc_security_group_ingress_rule" "scrapers" {
  for_each = local.scraper_ingress

  security_group_id            = local.security_group_ids[each.value.group]
  referenced_security_group_id = each.value.source
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = "Prometheus scrape of /metrics"
}

# The load balancer: HTTPS from the allowed clients, and HTTP only to redirect to HTTPS.
resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.alb_ingress_cidrs)

  security_group_id = aws_security_group.this["alb"].id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS from clients"
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  # checkov:skip=CKV_AWS_260: port 80 only answers a 301 redirect to HTTPS (see aws_lb_listener.http); no request is forwarded to the service over plain HTTP.
  for_each = toset(var.alb_ingress_cidrs)

  security_group_id = aws_security_group.this["alb"].id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  description       = "HTTP from clients (redirected to HTTPS)"
}
