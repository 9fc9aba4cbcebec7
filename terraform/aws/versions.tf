terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Terraform state holds the generated passwords, the Redis auth token and the bootstrap admin
  # key: keep it in an encrypted, access-controlled backend. For example (Terraform >= 1.10):
  #
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "provenance/production.tfstate"
  #   region       = "eu-west-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}
