import { createHash, randomUUID } from "node:crypto";

export interface Order {
  id: number;
  customer: string;
  total: string;
}

export interface ApiError {
  status: number;
  message: string;
}

const BASE_URL = "https://api.example.com/v2";

export class ApiClient {
  constructor(
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  private headers(): Record<string, string> {
    return {
      Authorization: `Bearer ${this.token}`,
      "Content-Type": "application/json",
      "X-Request-Id": randomUUID(),
    };
  }

  async getOrder(id: number): Promise<Order> {
    const res = await this.fetchImpl(`${BASE_URL}/orders/${encodeURIComponent(String(id))}`, {
      headers: this.headers(),
    });
    if (!res.ok) {
      throw { status: res.status, message: await res.text() } satisfies ApiError;
    }
    return (await res.json()) as Order;
  }

  async searchOrders(term: string, limit = 20): Promise<Order[]> {
    const params = new URLSearchParams({ q: term, limit: String(limit) });
    const res = await this.fetchImpl(`${BASE_URL}/orders?${params.toString()}`, {
      headers: this.headers(),
    });
    const body: unknown = JSON.parse(await res.text());
    if (!Array.isArray(body)) {
      return [];
    }
    return body as Order[];
  }

  async updateNote(id: number, note: string): Promise<void> {
    await this.fetchImpl(`${BASE_URL}/orders/${id}/note`, {
      method: "PUT",
      headers: this.headers(),
      body: JSON.stringify({ note }),
    });
  }
}

export function cacheKey(parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex");
}

export function summary(orders: Order[]): string {
  if (orders.length === 0) {
    return "Select an order from the list to see its details";
  }
  return `Update ${orders.length} orders from the selected view`;
}
