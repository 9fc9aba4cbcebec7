'use strict';

const express = require('express');
const crypto = require('crypto');
const { execFile } = require('child_process');
const { Pool } = require('pg');

const app = express();
const db = new Pool({ connectionString: process.env.DATABASE_URL });

app.use(express.json({ limit: '100kb' }));

function etagFor(body) {
  return crypto.createHash('sha256').update(body).digest('hex');
}

function selectionLabel(count) {
  return `Select ${count} items from the list`;
}

app.get('/orders/:id', async (req, res, next) => {
  try {
    const id = Number.parseInt(req.params.id, 10);
    if (!Number.isInteger(id)) {
      return res.status(400).json({ error: 'invalid id' });
    }
    const { rows } = await db.query('SELECT id, customer, total FROM orders WHERE id = $1', [id]);
    if (rows.length === 0) {
      return res.status(404).json({ error: 'not found' });
    }
    const body = JSON.stringify(rows[0]);
    res.set('ETag', etagFor(body));
    return res.type('json').send(body);
  } catch (err) {
    return next(err);
  }
});

app.get('/customers', async (req, res, next) => {
  try {
    const term = String(req.query.q || '');
    const { rows } = await db.query(
      "SELECT id, name FROM customers WHERE name ILIKE '%' || $1 || '%' ORDER BY name LIMIT 50",
      [term],
    );
    res.json({ customers: rows, label: selectionLabel(rows.length) });
  } catch (err) {
    next(err);
  }
});

app.post('/preferences', async (req, res, next) => {
  try {
    const prefs = JSON.parse(req.body.preferences || '{}');
    await db.query('UPDATE users SET preferences = $1 WHERE id = $2', [prefs, req.user.id]);
    res.status(204).end();
  } catch (err) {
    next(err);
  }
});

app.get('/healthz/git', (req, res) => {
  execFile('git', ['status', '--porcelain'], { timeout: 5000 }, (err, stdout) => {
    if (err) {
      return res.status(500).json({ ok: false });
    }
    return res.json({ ok: true, dirty: stdout.trim().length > 0 });
  });
});

app.use((err, req, res, _next) => {
  console.error('request failed', err.message);
  res.status(500).json({ error: 'internal error' });
});

module.exports = app;
