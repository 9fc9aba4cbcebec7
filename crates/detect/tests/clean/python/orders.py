"""Order lookups and exports for the storefront back office."""

from __future__ import annotations

import ast
import hashlib
import logging
import os
import subprocess
from dataclasses import dataclass
from decimal import Decimal

import requests
import yaml

log = logging.getLogger(__name__)

CONFIG_DIR = "/etc/storefront"
SETTINGS_PATH = os.path.join(CONFIG_DIR, "settings.yaml")
RATES_URL = "https://rates.example.com/v1/latest"


@dataclass(frozen=True)
class Order:
    id: int
    customer: str
    total: Decimal


def load_settings(path: str = SETTINGS_PATH) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def get_order(conn, order_id: int) -> Order | None:
    with conn.cursor() as cursor:
        cursor.execute("SELECT id, customer, total FROM orders WHERE id = %s", (order_id,))
        row = cursor.fetchone()
    if row is None:
        log.info("order %s not found", order_id)
        return None
    return Order(*row)


def search_customers(conn, term: str) -> list[tuple]:
    cursor = conn.cursor()
    cursor.execute(
        "SELECT id, name FROM customers WHERE name LIKE '%' || ? || '%' ORDER BY name",
        (term,),
    )
    return cursor.fetchall()


def count_gift_cards(conn) -> int:
    cursor = conn.cursor()
    cursor.execute("SELECT count(*) FROM products WHERE sku LIKE '%-GIFT'")
    return cursor.fetchone()[0]


def describe_import(folder: str, cached: bool) -> str:
    if cached:
        return "update the list from the cache"
    return f"select a file from {folder}"


def parse_discount_rules(text: str) -> dict:
    """Discount rules are stored as Python literals, e.g. {"VIP": 0.1}."""
    rules = ast.literal_eval(text)
    if not isinstance(rules, dict):
        raise ValueError("discount rules must be a mapping")
    return rules


def export_fingerprint(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def fetch_exchange_rates(timeout: float = 5.0) -> dict:
    response = requests.get(RATES_URL, timeout=timeout)
    response.raise_for_status()
    return response.json()


def archive_exports(export_dir: str, archive: str) -> None:
    log.info("archiving %s into %s", export_dir, archive)
    subprocess.run(["tar", "-czf", archive, "-C", export_dir, "."], check=True)


def score_orders(model, features):
    model.eval()
    return [float(model(f)) for f in features]
