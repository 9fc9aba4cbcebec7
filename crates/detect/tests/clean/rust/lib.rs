//! Order storage on top of sqlx.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Order {
    pub id: i64,
    pub customer: String,
    pub total_cents: i64,
}

#[derive(Debug)]
pub enum StoreError {
    NotFound(i64),
    Database(sqlx::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(id) => write!(f, "order {id} not found"),
            Self::Database(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

pub struct Store {
    pool: PgPool,
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn get(&self, id: i64) -> Result<Order, StoreError> {
        sqlx::query_as::<_, Order>("SELECT id, customer, total_cents FROM orders WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(id))
    }

    pub async fn rename_customer(&self, id: i64, customer: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE orders SET customer = $1 WHERE id = $2")
            .bind(customer)
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(id));
        }
        Ok(())
    }
}

/// Totals per customer, in cents.
pub fn totals_by_customer(orders: &[Order]) -> HashMap<&str, i64> {
    let mut totals = HashMap::new();
    for order in orders {
        *totals.entry(order.customer.as_str()).or_insert(0) += order.total_cents;
    }
    totals
}

/// Hex sha256 of an export, used as its ETag.
pub fn fingerprint(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_per_customer() {
        let orders = vec![
            Order { id: 1, customer: "ada".into(), total_cents: 150 },
            Order { id: 2, customer: "ada".into(), total_cents: 50 },
        ];
        assert_eq!(totals_by_customer(&orders)["ada"], 200);
    }
}
