# ---------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------

variable "region" {
  description = "AWS region to deploy into, e.g. eu-west-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Prefix of every resource name; the environment is appended (provenance-production)."
  type        = string
  default     = "provenance"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,14}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 2-16 characters of lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen (load balancer and target group names are limited to 32 characters)."
  }
}

variable "environment" {
  description = "staging or production. production turns on deletion protection, final snapshots and, unless overridden, the highly-available sizes (Multi-AZ database, clustered broker, replicated Redis, one NAT gateway per AZ)."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be \"staging\" or \"production\"."
  }
}

variable "tags" {
  description = "Extra tags for every resource (added to Application, Environment and ManagedBy)."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR block of the VPC (/16 to /19). Public subnets are its first /24-equivalents (newbits 8), private subnets the following /20-equivalents (newbits 4)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 19, false)
    error_message = "vpc_cidr must be an IPv4 CIDR block with a prefix length between /16 and /19."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread subnets, tasks and data stores over (2 or 3), when availability_zones is empty."
  type        = number
  default     = 3

  validation {
    condition     = contains([2, 3], var.az_count)
    error_message = "az_count must be 2 or 3."
  }
}

variable "availability_zones" {
  description = "Availability zones to use, e.g. [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]; empty: the first az_count zones of the region. Pin them for a long-lived environment: changing the set replaces subnets."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && length(distinct(var.availability_zones)) == length(var.availability_zones))
    error_message = "availability_zones must be empty or 2-3 distinct zone names."
  }
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per AZ (true) or a single shared one (false). null: per AZ in production, single in staging."
  type        = bool
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------

variable "api_image" {
  description = "provenance-api image, pinned by digest: ghcr.io/<owner>/provenance-api@sha256:<64 hex>."
  type        = string

  validation {
    condition     = can(regex("^[^@[:space:]]+@sha256:[0-9a-f]{64}$", var.api_image))
    error_message = "api_image must be pinned by digest: <repository>@sha256:<64 lowercase hex characters>."
  }
}

variable "worker_image" {
  description = "provenance-worker image, pinned by digest: ghcr.io/<owner>/provenance-worker@sha256:<64 hex>."
  type        = string

  validation {
    condition     = can(regex("^[^@[:space:]]+@sha256:[0-9a-f]{64}$", var.worker_image))
    error_message = "worker_image must be pinned by digest: <repository>@sha256:<64 lowercase hex characters>."
  }
}

variable "cli_image" {
  description = "provenance CLI image, pinned by digest: ghcr.io/<owner>/provenance-cli@sha256:<64 hex>. Runs the one-shot `keys` task that creates the shared signing key."
  type        = string

  validation {
    condition     = can(regex("^[^@[:space:]]+@sha256:[0-9a-f]{64}$", var.cli_image))
    error_message = "cli_image must be pinned by digest: <repository>@sha256:<64 lowercase hex characters>."
  }
}

variable "migrate_image" {
  description = "Image of the one-shot migration task; null uses api_image. Set it to the next release's provenance-api digest to migrate before rolling the services out (see the README)."
  type        = string
  default     = null

  validation {
    condition     = var.migrate_image == null || can(regex("^[^@[:space:]]+@sha256:[0-9a-f]{64}$", var.migrate_image))
    error_message = "migrate_image must be null or pinned by digest: <repository>@sha256:<64 lowercase hex characters>."
  }
}

variable "registry_credentials_secret_arn" {
  description = "Secrets Manager secret ({\"username\":…,\"password\":…}) to pull private images, e.g. a GitHub token with read:packages for private ghcr.io packages. null for public images or ECR in this account."
  type        = string
  default     = null

  validation {
    condition     = var.registry_credentials_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.registry_credentials_secret_arn))
    error_message = "registry_credentials_secret_arn must be null or a Secrets Manager secret ARN."
  }
}

variable "cpu_architecture" {
  description = "Fargate CPU architecture: X86_64 or ARM64 (Graviton, cheaper). The images are published for both."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

# ---------------------------------------------------------------------------------------------
# Public endpoint
# ---------------------------------------------------------------------------------------------

variable "domain_name" {
  description = "Public host name of the API (provenance.example.com). It becomes PROVENANCE_PUBLIC_BASE_URL (https://<domain_name>) and must be covered by certificate_arn."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS host name such as provenance.example.com."
  }
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate (same region) for domain_name, served by the HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone in which to create an alias record domain_name -> load balancer. null: manage DNS yourself (point domain_name at the alb_dns_name output)."
  type        = string
  default     = null
}

variable "alb_ssl_policy" {
  description = "TLS policy of the HTTPS listener (TLS 1.2 minimum)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = can(regex("^ELBSecurityPolicy-(TLS13-1-[23]-|FS-1-2-|TLS-1-2-)", var.alb_ssl_policy))
    error_message = "alb_ssl_policy must be a TLS 1.2+ policy (ELBSecurityPolicy-TLS13-1-2-*, ELBSecurityPolicy-TLS13-1-3-*, ELBSecurityPolicy-FS-1-2-* or ELBSecurityPolicy-TLS-1-2-*)."
  }
}

variable "alb_ingress_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer on 443 (and 80, which only redirects)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.alb_ingress_cidrs) > 0 && alltrue([for c in var.alb_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "alb_ingress_cidrs must be a non-empty list of IPv4 CIDR blocks."
  }
}

variable "waf_web_acl_arn" {
  description = "ARN of a regional WAFv2 web ACL to associate with the load balancer; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.waf_web_acl_arn == null || can(regex("^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/", var.waf_web_acl_arn))
    error_message = "waf_web_acl_arn must be null or a regional WAFv2 web ACL ARN."
  }
}

variable "alb_access_logs_retention_days" {
  description = "Days to keep the load balancer access logs in S3."
  type        = number
  default     = 90

  validation {
    condition     = var.alb_access_logs_retention_days >= 1 && floor(var.alb_access_logs_retention_days) == var.alb_access_logs_retention_days
    error_message = "alb_access_logs_retention_days must be a whole number of days, at least 1."
  }
}

# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------

variable "services_enabled" {
  description = "false creates the ECS services with no running task: use it for the first apply, run the keys and migrate tasks, then apply again with true (the default)."
  type        = bool
  default     = true
}

variable "api_cpu" {
  description = "CPU units of one API task (1024 = 1 vCPU)."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.api_cpu)
    error_message = "api_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "api_memory" {
  description = "Memory (MiB) of one API task; must be a valid Fargate combination with api_cpu."
  type        = number
  default     = 1024

  validation {
    condition     = var.api_memory >= 512 && var.api_memory <= 122880
    error_message = "api_memory must be between 512 and 122880 MiB."
  }
}

variable "worker_cpu" {
  description = "CPU units of one worker task (1024 = 1 vCPU)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.worker_cpu)
    error_message = "worker_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "worker_memory" {
  description = "Memory (MiB) of one worker task; must be a valid Fargate combination with worker_cpu."
  type        = number
  default     = 2048

  validation {
    condition     = var.worker_memory >= 512 && var.worker_memory <= 122880
    error_message = "worker_memory must be between 512 and 122880 MiB."
  }
}

variable "api_min_count" {
  description = "Minimum number of API tasks (autoscaling floor)."
  type        = number
  default     = 2

  validation {
    condition     = var.api_min_count >= 1 && var.api_min_count <= 100 && floor(var.api_min_count) == var.api_min_count
    error_message = "api_min_count must be a whole number between 1 and 100."
  }
}

variable "api_max_count" {
  description = "Maximum number of API tasks (autoscaling ceiling)."
  type        = number
  default     = 6

  validation {
    condition     = var.api_max_count >= 1 && var.api_max_count <= 100 && floor(var.api_max_count) == var.api_max_count
    error_message = "api_max_count must be a whole number between 1 and 100."
  }
}

variable "worker_min_count" {
  description = "Minimum number of worker tasks (autoscaling floor)."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_min_count >= 1 && var.worker_min_count <= 100 && floor(var.worker_min_count) == var.worker_min_count
    error_message = "worker_min_count must be a whole number between 1 and 100."
  }
}

variable "worker_max_count" {
  description = "Maximum number of worker tasks (autoscaling ceiling)."
  type        = number
  default     = 10

  validation {
    condition     = var.worker_max_count >= 1 && var.worker_max_count <= 100 && floor(var.worker_max_count) == var.worker_max_count
    error_message = "worker_max_count must be a whole number between 1 and 100."
  }
}

variable "api_cpu_target" {
  description = "Average CPU utilisation (%) the API service is scaled to keep."
  type        = number
  default     = 60

  validation {
    condition     = var.api_cpu_target >= 10 && var.api_cpu_target <= 90
    error_message = "api_cpu_target must be between 10 and 90."
  }
}

variable "worker_cpu_target" {
  description = "Average CPU utilisation (%) the worker service is scaled to keep."
  type        = number
  default     = 60

  validation {
    condition     = var.worker_cpu_target >= 10 && var.worker_cpu_target <= 90
    error_message = "worker_cpu_target must be between 10 and 90."
  }
}

variable "worker_messages_per_task" {
  description = "Target backlog of the analysis.jobs queue (ready + unacknowledged messages) per running worker task; more scales the workers out."
  type        = number
  default     = 20

  validation {
    condition     = var.worker_messages_per_task >= 1
    error_message = "worker_messages_per_task must be at least 1."
  }
}

variable "worker_concurrency" {
  description = "Jobs one worker task processes at once (PROVENANCE_WORKER__CONCURRENCY)."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_concurrency >= 1 && var.worker_concurrency <= 64 && floor(var.worker_concurrency) == var.worker_concurrency
    error_message = "worker_concurrency must be a whole number between 1 and 64."
  }
}

variable "database_max_connections" {
  description = "Largest connection pool of one API or worker process (PROVENANCE_DATABASE_MAX_CONNECTIONS). Keep (api_max_count + worker_max_count) x this below the database's max_connections."
  type        = number
  default     = 16

  validation {
    condition     = var.database_max_connections >= 2 && var.database_max_connections <= 200 && floor(var.database_max_connections) == var.database_max_connections
    error_message = "database_max_connections must be a whole number between 2 and 200."
  }
}

variable "rust_log" {
  description = "Log filter of both services (RUST_LOG syntax)."
  type        = string
  default     = "info"
}

variable "otlp_endpoint" {
  description = "OTLP/gRPC endpoint for traces (PROVENANCE_OTLP_ENDPOINT), e.g. http://otel-collector.internal:4317 inside the VPC; empty for none. Opens TCP 4317-4318 from the tasks to the VPC."
  type        = string
  default     = ""

  validation {
    condition     = var.otlp_endpoint == "" || can(regex("^https?://", var.otlp_endpoint))
    error_message = "otlp_endpoint must be empty or an http:// or https:// URL."
  }
}

variable "webhook_allow_hosts" {
  description = "Comma-separated hosts/CIDRs exempt from the webhook SSRF guard (PROVENANCE_WEBHOOK_ALLOW_HOSTS); empty for none."
  type        = string
  default     = ""
}

variable "metrics_scraper_security_group_ids" {
  description = "Security groups (e.g. of an ADOT/Prometheus collector) allowed to scrape /metrics: the API on 8080 and the worker on 9090."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.metrics_scraper_security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "metrics_scraper_security_group_ids must be security group ids (sg-…)."
  }
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups (services, one-shot tasks, VPC flow logs, Redis, PostgreSQL)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL (RDS)
# ---------------------------------------------------------------------------------------------

variable "db_engine_version" {
  description = "PostgreSQL engine version: \"16\" (latest 16.x, minor upgrades applied automatically) or a pinned 16.x."
  type        = string
  default     = "16"

  validation {
    condition     = can(regex("^16(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be 16 or 16.<minor>."
  }
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = can(regex("^db\\.", var.db_instance_class))
    error_message = "db_instance_class must be an RDS instance class such as db.t4g.medium or db.m7g.large."
  }
}

variable "db_allocated_storage" {
  description = "Initial storage (GiB) of the database."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 65536
    error_message = "db_allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling (GiB); must be at least db_allocated_storage."
  type        = number
  default     = 200

  validation {
    condition     = var.db_max_allocated_storage >= 20 && var.db_max_allocated_storage <= 65536
    error_message = "db_max_allocated_storage must be between 20 and 65536 GiB."
  }
}

variable "db_multi_az" {
  description = "Run the database Multi-AZ (synchronous standby). null: true in production, false in staging."
  type        = bool
  default     = null
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery) to keep."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 1 and 35."
  }
}

variable "db_iam_authentication" {
  description = "Enable IAM database authentication (for people and tools; the services use the generated password)."
  type        = bool
  default     = true
}

variable "database_ssl_mode" {
  description = "sslmode of PROVENANCE_DATABASE_URL. The database refuses unencrypted connections (rds.force_ssl=1) whatever this says. verify-full also needs database_ssl_root_cert_path, because RDS certificates chain to the Amazon RDS CAs, which are not in the services' built-in root set."
  type        = string
  default     = "require"

  validation {
    condition     = contains(["require", "verify-ca", "verify-full"], var.database_ssl_mode)
    error_message = "database_ssl_mode must be require, verify-ca or verify-full."
  }
}

variable "database_ssl_root_cert_path" {
  description = "Path, inside the API and worker containers, of the Amazon RDS CA bundle (global-bundle.pem), added to the URL as sslrootcert; empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.database_ssl_root_cert_path == "" || startswith(var.database_ssl_root_cert_path, "/")
    error_message = "database_ssl_root_cert_path must be empty or an absolute path."
  }
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ (Amazon MQ)
# ---------------------------------------------------------------------------------------------

variable "mq_deployment_mode" {
  description = "Amazon MQ deployment: SINGLE_INSTANCE or CLUSTER_MULTI_AZ (three nodes). null: cluster in production, single instance in staging."
  type        = string
  default     = null

  validation {
    condition     = var.mq_deployment_mode == null || contains(["SINGLE_INSTANCE", "CLUSTER_MULTI_AZ"], coalesce(var.mq_deployment_mode, "SINGLE_INSTANCE"))
    error_message = "mq_deployment_mode must be null, SINGLE_INSTANCE or CLUSTER_MULTI_AZ."
  }
}

variable "mq_instance_type" {
  description = "Broker instance type. null: mq.m5.large in production, mq.t3.micro in staging (mq.t3.micro is single-instance only)."
  type        = string
  default     = null

  validation {
    condition     = var.mq_instance_type == null || can(regex("^mq\\.", coalesce(var.mq_instance_type, "mq.")))
    error_message = "mq_instance_type must be null or an Amazon MQ instance type such as mq.m5.large."
  }
}

# ---------------------------------------------------------------------------------------------
# Redis (ElastiCache)
# ---------------------------------------------------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"

  validation {
    condition     = can(regex("^cache\\.", var.redis_node_type))
    error_message = "redis_node_type must be an ElastiCache node type such as cache.t4g.small."
  }
}

variable "redis_num_cache_clusters" {
  description = "Redis nodes (1 primary + replicas); more than 1 turns on automatic failover and Multi-AZ. null: 2 in production, 1 in staging."
  type        = number
  default     = null

  validation {
    condition     = var.redis_num_cache_clusters == null || try(var.redis_num_cache_clusters >= 1 && var.redis_num_cache_clusters <= 6, false)
    error_message = "redis_num_cache_clusters must be null or between 1 and 6."
  }
}
