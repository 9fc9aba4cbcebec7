import React, { useEffect, useMemo, useState } from "react";
import type { ApiClient, Order } from "./api";
import { summary } from "./api";

interface OrderListProps {
  client: ApiClient;
  initialQuery?: string;
}

export function OrderList({ client, initialQuery = "" }: OrderListProps) {
  const [query, setQuery] = useState(initialQuery);
  const [orders, setOrders] = useState<Order[]>([]);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    client
      .searchOrders(query)
      .then((result) => {
        if (!cancelled) setOrders(result);
      })
      .catch(() => {
        if (!cancelled) setError("Could not load orders");
      });
    return () => {
      cancelled = true;
    };
  }, [client, query]);

  const total = useMemo(
    () => orders.filter((o) => selected.has(o.id)).reduce((sum, o) => sum + Number(o.total), 0),
    [orders, selected],
  );

  const toggle = (id: number) => {
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  };

  return (
    <section aria-label="Orders">
      <label>
        Search
        <input value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Select a customer from the list" />
      </label>
      {error && <p role="alert">{error}</p>}
      <p>{summary(orders)}</p>
      <ul>
        {orders.map((order) => (
          <li key={order.id}>
            <label>
              <input type="checkbox" checked={selected.has(order.id)} onChange={() => toggle(order.id)} />
              {order.customer} — {order.total}
            </label>
          </li>
        ))}
      </ul>
      <footer>{`Selected ${selected.size} orders from ${orders.length}, total ${total.toFixed(2)}`}</footer>
    </section>
  );
}
