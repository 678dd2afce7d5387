"""Webhooks: event payloads and signatures (`payloads`), the durable outbox (`app.queries.webhooks`) and the
dispatcher thread that delivers it (`dispatcher`)."""
