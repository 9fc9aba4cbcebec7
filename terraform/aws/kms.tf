# One customer-managed key, rotated yearly, encrypts everything that accepts one: the secrets, the
# database storage and Performance Insights, EFS, Redis, and the CloudWatch log groups.

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_109: a key policy: "*" is this key only, and kms:* for the account root is the default key policy that hands control to the account's IAM policies.
  # checkov:skip=CKV_AWS_111: a key policy: "*" is this key only; writes are granted to the account root (then IAM) and to CloudWatch Logs for this account's log groups.
  # checkov:skip=CKV_AWS_356: a key policy: its "*" resource means this key, not every resource.
  # Key administration and use are delegated to IAM policies of this account (the default key
  # policy); the task execution role gets kms:Decrypt through Secrets Manager only.
  statement {
    sid       = "AccountIAMPolicies"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsOfThisAccount"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Provenance ${var.environment}: secrets, database, EFS, Redis and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.this.key_id
}
