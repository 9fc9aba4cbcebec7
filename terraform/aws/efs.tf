# The services' data dir (/var/lib/provenance), shared by every API and worker task: it holds the
# Ed25519 signing key (keys/signing-key.pem, PKCS#8) and the list of public keys (keys/keyring.json).
# Every replica must sign with the same key, and an ECS task cannot mount a secret as a file on a
# distroless image, so the key lives here: created once by the one-shot `keys` task, then read by
# every task at start. Encrypted at rest (KMS) and in transit (TLS), reachable only through the
# access point, which enforces the image's user 65532:65532. Backed up by AWS Backup.

resource "aws_efs_file_system" "data" {
  creation_token   = "${local.name}-data"
  encrypted        = true
  kms_key_id       = aws_kms_key.this.arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  tags = {
    Name = "${local.name}-data"
  }
}

resource "aws_efs_backup_policy" "data" {
  file_system_id = aws_efs_file_system.data.id

  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_efs_mount_target" "data" {
  count = length(local.azs)

  file_system_id  = aws_efs_file_system.data.id
  subnet_id       = aws_subnet.private[count.index].id
  security_groups = [aws_security_group.this["efs"].id]
}

resource "aws_efs_access_point" "data" {
  file_system_id = aws_efs_file_system.data.id

  posix_user {
    uid = 65532
    gid = 65532
  }

  root_directory {
    path = "/provenance"

    creation_info {
      owner_uid   = 65532
      owner_gid   = 65532
      permissions = "0700"
    }
  }

  tags = {
    Name = "${local.name}-data"
  }
}

data "aws_iam_policy_document" "efs" {
  # Only the task role, only through the access point.
  statement {
    sid = "TasksThroughTheAccessPoint"
    actions = [
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
    ]
    resources = [aws_efs_file_system.data.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.task.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.data.arn]
    }
  }

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.data.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_efs_file_system_policy" "data" {
  file_system_id = aws_efs_file_system.data.id
  policy         = data.aws_iam_policy_document.efs.json
}
