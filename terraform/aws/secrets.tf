# Generated credentials and the connection URLs built from them, stored in Secrets Manager
# (encrypted with the KMS key) and handed to the tasks as `secrets` (valueFrom): the values never
# appear in a task definition. They are in the Terraform state too: keep the state encrypted.

resource "random_password" "db" {
  length  = 40
  special = false
}

resource "random_password" "mq" {
  length  = 40
  special = false
}

resource "random_password" "redis" {
  length  = 64
  special = false
}

# The bootstrap admin API key, in the exact shape the API accepts: pvn_<key id>_<secret>, where
# the key id is `key_` + a 26-character ULID (Crockford base32; a leading 0 keeps it canonical)
# and the secret is 64 lowercase hex characters (32 random bytes).
resource "random_string" "admin_key_id" {
  length           = 25
  upper            = false
  lower            = false
  numeric          = false
  special          = true
  override_special = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
}

resource "random_password" "admin_key_secret" {
  length           = 64
  upper            = false
  lower            = false
  numeric          = true
  special          = true
  override_special = "abcdef"
}

locals {
  admin_api_key = "pvn_key_0${random_string.admin_key_id.result}_${random_password.admin_key_secret.result}"

  database_ssl_params = join("", [
    "sslmode=${var.database_ssl_mode}",
    var.database_ssl_root_cert_path == "" ? "" : "&sslrootcert=${urlencode(var.database_ssl_root_cert_path)}",
  ])

  secret_values = {
    "database-url"        = "postgres://${aws_db_instance.this.username}:${random_password.db.result}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${aws_db_instance.this.db_name}?${local.database_ssl_params}"
    "amqp-url"            = "${replace(aws_mq_broker.this.instances[0].endpoints[0], "amqps://", "amqps://${local.mq_username}:${random_password.mq.result}@")}/%2f"
    "redis-url"           = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:${aws_elasticache_replication_group.this.port}/0"
    "bootstrap-admin-key" = local.admin_api_key
  }

  secret_descriptions = {
    "database-url"        = "PROVENANCE_DATABASE_URL: PostgreSQL connection URL (TLS)"
    "amqp-url"            = "PROVENANCE_AMQP_URL: RabbitMQ connection URL (amqps, port 5671)"
    "redis-url"           = "PROVENANCE_REDIS_URL: Redis connection URL (rediss, auth token)"
    "bootstrap-admin-key" = "PROVENANCE_BOOTSTRAP_ADMIN_KEY: the first admin API key (pvn_<id>_<secret>)"
  }
}

resource "aws_secretsmanager_secret" "this" {
  # checkov:skip=CKV2_AWS_57: these are connection URLs built from credentials Terraform generates and sets on the data stores themselves; a Secrets Manager rotation Lambda would change the secret without the store. Rotation is a Terraform change (README, Operations).
  for_each = local.secret_descriptions

  name                    = "${local.name}/${each.key}"
  description             = each.value
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = local.is_production ? 30 : 0
}

resource "aws_secretsmanager_secret_version" "this" {
  for_each = local.secret_descriptions

  secret_id     = aws_secretsmanager_secret.this[each.key].id
  secret_string = local.secret_values[each.key]
}
