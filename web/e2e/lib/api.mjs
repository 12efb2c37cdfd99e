// The REST contract from the test's side: set-up and the database's truth.
export const PASSWORD = 'demo-password';

export class Api {
  constructor(base) {
    this.base = base;
    this.tokens = new Map();
  }

  async call(method, path, { token, body } = {}) {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const error = new Error(`${method} ${path} → ${response.status} ${text}`);
      error.status = response.status;
      error.body = json;
      throw error;
    }
    return json;
  }

  async login(email) {
    const session = await this.call('POST', '/api/auth/login', { body: { email, password: PASSWORD } });
    this.tokens.set(email, session.token);
    return session;
  }

  async token(email) {
    if (!this.tokens.has(email)) await this.login(email);
    return this.tokens.get(email);
  }

  async as(email, method, path, body) {
    return this.call(method, path, { token: await this.token(email), body });
  }

  settings() {
    return this.call('GET', '/api/settings/public');
  }

  async day(date) {
    const { days } = await this.as('admin@example.com', 'GET', `/api/availability?from=${date}&to=${date}`);
    return days[0];
  }

  book(email, dueDate, title = `booked by ${email}`) {
    return this.as(email, 'POST', '/api/requests', { title, dueDate });
  }

  /** Makes `date` full whatever earlier tests did to it: one booking at least, and capacity = what is booked. */
  async fill(date) {
    if ((await this.day(date)).used === 0) await this.book('bob@example.com', date, 'fills the day');
    const { used } = await this.day(date);
    await this.override(date, used);
  }

  override(date, capacity, note) {
    return this.as('admin@example.com', 'PUT', `/api/capacity/overrides/${date}`, { capacity, note });
  }
}
